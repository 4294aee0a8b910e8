"""``prewarm`` writes the fixed prompts to the cache directory, where the service finds them."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import grpc
from voiceassist.common.v1 import language_pb2
from voiceassist.tts.v1 import tts_pb2, tts_pb2_grpc
from voiceassist_common.testing import service_process

LEVELS = """
levels:
  emergency_ambulance:
    instruction:
      en: "Call emergency services now. Do not drive yourself."
      fr: "Appelez les secours maintenant."
"""


def _knowledge(root: Path) -> Path:
    (root / "ddxplus").mkdir(parents=True)
    (root / "levels.yaml").write_text(LEVELS, encoding="utf-8")
    (root / "extensions.yaml").write_text("evidences: []\n", encoding="utf-8")
    (root / "ddxplus" / "release_evidences.json").write_text(
        '{"E_1": {"question_en": "Do you have a fever?", "question_fr": "De la fièvre ?"}}',
        encoding="utf-8",
    )
    return root


async def test_prewarmed_prompts_are_served_from_the_cache_after_a_start(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    env = {
        "TTS_CACHE_DIR": str(cache),
        "TTS_PROMPTS_KNOWLEDGE_DIR": str(_knowledge(tmp_path / "knowledge")),
        "TTS_PIPER": "false",
        "HF_HUB_OFFLINE": "1",
    }
    prewarm = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "voiceassist_tts", "prewarm", env={**os.environ, **env}
    )
    assert await asyncio.wait_for(prewarm.wait(), 120) == 0
    written = list(cache.rglob("*.pcm"))
    assert len(written) >= 5  # two English instruction sentences, French, questions, dialog

    async with (
        service_process("voiceassist_tts", env={**env, "TTS_PREWARM": "false"}) as service,
        grpc.aio.insecure_channel(service.grpc_address) as channel,
    ):
        stub = tts_pb2_grpc.TextToSpeechServiceStub(channel)
        request = tts_pb2.SynthesizeRequest(
            text="Appelez les secours maintenant.", language=language_pb2.LANGUAGE_FRENCH
        )
        responses = [response async for response in stub.Synthesize(request)]

    assert all(response.cached for response in responses)


async def test_prewarm_without_a_cache_directory_says_what_is_missing() -> None:
    environment = {k: v for k, v in os.environ.items() if k != "TTS_CACHE_DIR"}
    prewarm = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "voiceassist_tts",
        "prewarm",
        env={**environment, "TTS_PIPER": "false"},
        stderr=asyncio.subprocess.PIPE,
    )
    _, errors = await asyncio.wait_for(prewarm.communicate(), 120)

    assert prewarm.returncode == 2
    assert b"TTS_CACHE_DIR" in errors
