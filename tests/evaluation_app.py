"""A small application and its scorers, for the evaluation-run and ``genai-otel eval`` tests.

Importable as ``tests.evaluation_app`` from the repository root; the loopback server's URL comes from
``EVAL_APP_BASE_URL``.
"""

from __future__ import annotations

import functools
import os
from typing import Any

import openai

import genai_otel
from genai_otel.evaluation import Score

TEMPLATE = "answerer-v2"


def _ask(question: str) -> str:
    client = openai.OpenAI(base_url=os.environ["EVAL_APP_BASE_URL"], api_key="sk-eval-test", max_retries=0)
    try:
        completion = client.chat.completions.create(
            model="gpt-test", messages=[{"role": "user", "content": question}]
        )
    finally:
        client.close()
    return completion.choices[0].message.content or ""


def answer(question: str) -> str:
    with genai_otel.product_context(template_id=TEMPLATE, evidence_version="ev1"):
        return _ask(question)


def answer_terse(question: str) -> str:
    """The regression: a template that cuts the answer short."""
    with genai_otel.product_context(template_id="answerer-v3-terse", evidence_version="ev1"):
        return " ".join(_ask(question).split()[:4])


def answer_down(question: str) -> str:
    raise ConnectionError("backend down, key sk-proj-A1b2C3d4E5f6G7h8I9j0K1l2")


def mentions_expected(case: dict[str, Any], output: str) -> bool:
    return case["expected"] in output


def word_share(case: dict[str, Any], output: str) -> Score:
    """Share of the expected words the answer contains, passing at 0.5."""
    expected = case["expected"].split()
    words = output.replace(".", " ").replace(",", " ").split()
    share = sum(word in words for word in expected) / len(expected)
    return Score(share, "pass" if share >= 0.5 else "fail", f"{share:.0%} of the expected words")


def judge_down(case: dict[str, Any], output: str) -> float:
    raise TimeoutError("judge timed out")


alias_of_mentions = mentions_expected


def _judge(case: dict[str, Any], output: str) -> float:
    return 1.0 if case["expected"] in output else 0.0


_judge.evaluation_name = "groundedness"  # type: ignore[attr-defined]
named_judge = _judge


def _share_at(case: dict[str, Any], output: str, threshold: float) -> bool:
    return word_share(case, output).value >= threshold


partial_share = functools.partial(_share_at, threshold=0.5)


class Grader:
    """Scorers as methods: ``--scorer tests.evaluation_app:Grader.mentions``."""

    @staticmethod
    def mentions(case: dict[str, Any], output: str) -> bool:
        return mentions_expected(case, output)
