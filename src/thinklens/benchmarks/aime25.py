"""AIME 2025: the 30 problems of AIME I and II 2025, one subset per exam."""

from .aime import AimeBenchmark
from .prompts import BOXED_TEMPLATE

BENCHMARK = AimeBenchmark(
    name="aime25",
    description="American Invitational Mathematics Examination 2025, exams I and II, integer answers",
    grader="integer",
    subsets=("AIME2025-I", "AIME2025-II"),
    part_prefix="AIME2025-",
    hub_id="math-ai/aime25",
    modelscope_id="opencompass/AIME2025",
    modelscope_configs=("AIME2025-I", "AIME2025-II"),
    split="test",
    prompt_template=BOXED_TEMPLATE,
    meta_fields=("solution", "url"),
    file_hints=("aime25", "aime2025", "aime_2025"),
    sizes={"AIME2025-I": 15, "AIME2025-II": 15},
    aliases=("aime2025", "aime_2025"),
)
