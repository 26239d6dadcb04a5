"""gen_ai.provider.name tells the truth about OpenAI-compatible endpoints."""

from __future__ import annotations

import logging

import openai
import pytest

from genai_otel import semconv as sc
from genai_otel._failsafe import _warned_settings
from genai_otel.openai import OpenAIInstrumentor
from genai_otel.providers import PROVIDER_MAP_ENV, ProviderResolver, parse_rules


@pytest.mark.parametrize(
    ("host", "port", "expected"),
    [
        ("api.openai.com", 443, "openai"),
        ("eu.api.openai.com", 443, "openai"),  # data residency in Europe
        ("api.openai.com.evil.example", 443, "openai_compatible"),
        ("my-resource.openai.azure.com", 443, "azure.ai.openai"),
        ("localhost", 11434, "ollama"),
        ("10.0.0.5", 11434, "ollama"),
        ("api.groq.com", 443, "groq"),
        ("127.0.0.1", 8000, "openai_compatible"),
        ("vllm.internal", 443, "openai_compatible"),
    ],
)
def test_builtin_rules(host, port, expected) -> None:
    assert ProviderResolver({}).resolve(host, port) == expected


def test_user_rules_win_and_specific_beats_general() -> None:
    resolver = ProviderResolver(
        "127.0.0.1:8000=vllm, *.corp.example=openai, :11434=my_ollama_proxy, gateway.corp.example=azure.ai.openai"
    )
    assert resolver.resolve("127.0.0.1", 8000) == "vllm"
    assert resolver.resolve("127.0.0.1", 8001) == "openai_compatible"
    assert resolver.resolve("llm.corp.example", 443) == "openai"
    assert resolver.resolve("corp.example", 443) == "openai"
    assert resolver.resolve("gateway.corp.example", 443) == "azure.ai.openai"
    assert resolver.resolve("localhost", 11434) == "my_ollama_proxy"
    assert resolver.resolve("api.openai.com", 443) == "openai"


def test_catch_all_rule() -> None:
    assert ProviderResolver({"*": "openai"}).resolve("127.0.0.1", 9999) == "openai"
    assert ProviderResolver({"*": "openai"}).resolve("localhost", 11434) == "ollama"  # more specific built-in


def test_bad_env_value_warns_once_naming_the_setting(monkeypatch, caplog) -> None:
    _warned_settings.clear()
    monkeypatch.setenv(PROVIDER_MAP_ENV, "this has no equals sign")
    with caplog.at_level(logging.WARNING, logger="genai_otel"):
        ProviderResolver()
        ProviderResolver()
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert PROVIDER_MAP_ENV in warnings[0].getMessage()
    assert "pattern=provider" in warnings[0].getMessage()


def test_bad_rule_is_skipped_good_rules_kept(caplog) -> None:
    _warned_settings.clear()
    with caplog.at_level(logging.WARNING, logger="genai_otel"):
        resolver = ProviderResolver({"host:notaport": "x", "good.example": "vllm"})
    assert resolver.resolve("good.example", 443) == "vllm"
    assert any("host:notaport" in r.getMessage() for r in caplog.records)


def test_parse_rules_rejects_empty_parts() -> None:
    with pytest.raises(ValueError):
        parse_rules("=openai")


def test_openai_client_pointed_at_ollama_port_is_not_openai(telemetry, llm_server) -> None:
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(
        tracer_provider=telemetry.tracer_provider,
        meter_provider=telemetry.meter_provider,
        provider_map={f"127.0.0.1:{llm_server.port}": "ollama"},
    )
    try:
        client = openai.OpenAI(base_url=llm_server.openai_base_url, api_key="x", max_retries=0)
        client.chat.completions.create(model="llama3", messages=[{"role": "user", "content": "hi"}])
    finally:
        instrumentor.uninstrument()
    assert telemetry.span().attributes[sc.GEN_AI_PROVIDER_NAME] == "ollama"


def test_env_rule_applies(monkeypatch, telemetry, llm_server) -> None:
    monkeypatch.setenv(PROVIDER_MAP_ENV, f":{llm_server.port}=vllm")
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(
        tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider
    )
    try:
        client = openai.OpenAI(base_url=llm_server.openai_base_url, api_key="x", max_retries=0)
        client.embeddings.create(model="e", input="x")
    finally:
        instrumentor.uninstrument()
    attributes = telemetry.span().attributes
    assert attributes[sc.GEN_AI_PROVIDER_NAME] == "vllm"
    (point,) = telemetry.metric_points(sc.METRIC_OPERATION_DURATION)
    assert point.attributes[sc.GEN_AI_PROVIDER_NAME] == "vllm"


def test_azure_client_defaults_to_azure(telemetry, llm_server) -> None:
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(
        tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider
    )
    try:
        client = openai.AzureOpenAI(
            azure_endpoint=llm_server.base_url, api_key="x", api_version="2024-10-21", max_retries=0
        )
        with pytest.raises(openai.NotFoundError):
            client.chat.completions.create(
                model="my-deployment", messages=[{"role": "user", "content": "hi"}]
            )
    finally:
        instrumentor.uninstrument()
    assert telemetry.span().attributes[sc.GEN_AI_PROVIDER_NAME] == "azure.ai.openai"


def test_rules_apply_to_a_client_that_outlives_a_reinstrument(telemetry, llm_server) -> None:
    client = openai.OpenAI(base_url=llm_server.openai_base_url, api_key="x", max_retries=0)
    instrumentor = OpenAIInstrumentor()
    for provider in ("first_provider", "second_provider"):
        instrumentor.instrument(**telemetry.providers(), provider_map={f":{llm_server.port}": provider})
        try:
            client.embeddings.create(model="e", input="x")
        finally:
            instrumentor.uninstrument()
    client.base_url = f"http://localhost:{llm_server.port}/v1"
    instrumentor.instrument(**telemetry.providers(), provider_map={"localhost": "third_provider"})
    try:
        client.embeddings.create(model="e", input="x")
    finally:
        instrumentor.uninstrument()
    assert [s.attributes[sc.GEN_AI_PROVIDER_NAME] for s in telemetry.spans()] == [
        "first_provider",
        "second_provider",
        "third_provider",
    ]
