"""MATH-500: the 500 MATH test problems OpenAI chose for PRM800K, one subset per difficulty level."""

from .base import Benchmark
from .prompts import BOXED_TEMPLATE

BENCHMARK = Benchmark(
    name="math_500",
    description="500 competition problems from the MATH test set (PRM800K selection), levels 1-5",
    grader="math",
    subsets=("Level 1", "Level 2", "Level 3", "Level 4", "Level 5"),
    hub_id="HuggingFaceH4/MATH-500",
    modelscope_id="AI-ModelScope/MATH-500",
    split="test",
    prompt_template=BOXED_TEMPLATE,
    id_fields=("unique_id", "id"),
    subset_field="level",
    subset_format="Level {}",
    meta_fields=("level", "subject", "solution", "unique_id"),
    file_hints=("math500", "math_500", "math-500"),
    sizes={"Level 1": 43, "Level 2": 90, "Level 3": 105, "Level 4": 128, "Level 5": 134},
    aliases=("math500",),
)
