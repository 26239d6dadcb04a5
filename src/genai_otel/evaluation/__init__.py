"""Quality signals: evaluation results in the trace of the call they judge, scheduled evaluation runs,
and the promotion gate.

    genai_otel.record_evaluation("groundedness", score=0.92, label="pass", response_id=completion.id)

    summary = genai_otel.evaluation.run(cases, answer, [grounded], name="nightly")
    regressions = genai_otel.evaluation.compare(baseline, summary, max_drop=0.05)

The command line (``genai-otel eval``) runs the same thing from cron or CI; see docs/quality.md.
"""

from genai_otel.evaluation._record import record_evaluation
from genai_otel.evaluation._run import (
    EvaluationSummary,
    Score,
    ScorerSummary,
    compare,
    run,
)

__all__ = ["EvaluationSummary", "Score", "ScorerSummary", "compare", "record_evaluation", "run"]
