"""AIME 2024: the 30 problems of AIME I and II 2024; answers are integers 0-999."""

from .aime import AimeBenchmark
from .prompts import BOXED_TEMPLATE

BENCHMARK = AimeBenchmark(
    name="aime24",
    description="American Invitational Mathematics Examination 2024 (I and II), integer answers",
    grader="integer",
    subsets=("default",),
    hub_id="math-ai/aime24",
    modelscope_id="evalscope/aime24",
    split="test",
    prompt_template=BOXED_TEMPLATE,
    meta_fields=("solution", "url"),
    file_hints=("aime24", "aime2024", "aime_2024"),
    sizes={"default": 30},
    aliases=("aime2024", "aime_2024"),
)
