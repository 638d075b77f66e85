"""Training command of the reader: `python -m qa.training.reader --out DIR` fine-tunes the bundled e5-small.

The first `--layers` layers of the materialised multilingual-e5-small get a span head (start/end logits,
position 0 = no answer) and an answerability head on `<s>`; the word, position and type embeddings stay
frozen (the runtime shares the bundled table, so they are not shipped). AdamW, linear warmup then linear decay,
fixed seed; examples are built once (`qa.training.data`) and cached in DIR. Every `--checkpoint-minutes` and on
stopping (end, `--budget-minutes`, Ctrl-C) it writes DIR/checkpoint.pt, which `--resume` continues from
exactly, and DIR/weights/, the folder `qa.answering.reader` loads (fp16 layers + heads, config, manifest).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from qa.models import bundled_model as bm
from qa.answering import reader as rd
from qa.training import data

DEFAULT_DATA = Path("../shared/data/mrc_train")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m qa.training.reader", description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, required=True, help="run folder: cached examples, checkpoint, weights/")
    p.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder of the mrc_train jsonl files")
    p.add_argument("--sources", default=",".join(data.SOURCES), help="comma-separated file stems")
    p.add_argument("--limit", type=int, default=None, help="use only the first N items (tests)")
    p.add_argument("--holdout", type=float, default=0.2, help="fraction of English-question passages held out")
    p.add_argument("--layers", type=int, default=6)
    p.add_argument("--max-tokens", type=int, default=rd.MAX_TOKENS)
    p.add_argument("--question-tokens", type=int, default=rd.QUESTION_TOKENS)
    p.add_argument("--freeze-layers", type=int, default=0,
                   help="keep the lowest N layers frozen too (no backward through them: cheaper steps)")
    p.add_argument("--negative-rate", type=float, default=0.25, help="chance of each kind of negative per question")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--lr", type=float, default=8e-5)
    p.add_argument("--head-lr-multiplier", type=float, default=1.0,
                   help="learning rate of the (randomly initialised) span and answer heads, as a multiple of --lr")
    p.add_argument("--warmup", type=float, default=0.06, help="fraction of the steps")
    p.add_argument("--weight-decay", type=float, default=0.01)
    p.add_argument("--epochs", type=float, default=1.0)
    p.add_argument("--max-steps", type=int, default=None, help="overrides --epochs")
    p.add_argument("--seed", type=int, default=20261201)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--device", default="cpu")
    p.add_argument("--budget-minutes", type=float, default=None, help="stop cleanly (and save) after this long")
    p.add_argument("--checkpoint-minutes", type=float, default=5.0)
    p.add_argument("--resume", action="store_true", help="continue from DIR/checkpoint.pt")
    p.add_argument("--model-cache", type=Path, default=None, help="where the bundled model is materialised")
    return p.parse_args(argv)


def _commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True,
                              cwd=Path(__file__).resolve().parent).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def examples(args: argparse.Namespace, base_dir: Path) -> list[data.Example]:
    """Build the examples once; later runs (and --resume) read them from DIR/examples.json."""
    key = {k: str(getattr(args, k)) for k in ("data", "sources", "limit", "holdout", "max_tokens",
                                                "question_tokens", "negative_rate", "seed")}
    path = args.out / "examples.json"
    if path.exists():
        cached = json.loads(path.read_text(encoding="utf-8"))
        if cached["key"] == key:
            return [data.Example(*row) for row in cached["rows"]]
    items = data.load_items(args.data, args.sources.split(","))
    train, held = data.split(items, args.holdout)
    if args.limit:
        train = train[: args.limit]
    print(f"items: {len(train)} for training, {len(held)} English questions held out", flush=True)
    rows = data.build_examples(train, rd.OffsetTokenizer(base_dir), max_tokens=args.max_tokens,
                               question_tokens=args.question_tokens, negative_rate=args.negative_rate,
                               seed=args.seed)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"key": key, "rows": [[e.ids, e.first, e.start, e.end, e.answerable] for e in rows]}),
                   encoding="utf-8")
    tmp.replace(path)
    return rows


def _batch(rows: list[data.Example], pad: int) -> dict[str, Any]:
    import torch

    width = max(len(r.ids) for r in rows)
    ids = torch.full((len(rows), width), pad, dtype=torch.long)
    allowed = torch.zeros((len(rows), width), dtype=torch.bool)
    for i, r in enumerate(rows):
        ids[i, : len(r.ids)] = torch.tensor(r.ids)
        allowed[i, 0] = True  # the null answer
        allowed[i, r.first : len(r.ids) - 1] = True  # passage tokens
    return {"ids": ids, "mask": (ids != pad).long(), "allowed": allowed,
            "start": torch.tensor([r.start for r in rows]), "end": torch.tensor([r.end for r in rows]),
            "answerable": torch.tensor([float(r.answerable) for r in rows])}


def loss_of(model: Any, batch: dict[str, Any]) -> Any:
    import torch
    import torch.nn.functional as F

    start, end, answer = model(batch["mask"], input_ids=batch["ids"])
    neg = torch.finfo(start.dtype).min / 2
    start = start.masked_fill(~batch["allowed"], neg)
    end = end.masked_fill(~batch["allowed"], neg)
    span = (F.cross_entropy(start, batch["start"]) + F.cross_entropy(end, batch["end"])) / 2
    return span + F.binary_cross_entropy_with_logits(answer, batch["answerable"])


def write_weights(model: Any, args: argparse.Namespace, folder: Path, extra: dict[str, Any]) -> None:
    """The shipped folder: fp16 layers + heads, config.json and manifest.json (sha256 of each file)."""
    from safetensors.torch import save_file

    tmp = folder.with_name(folder.name + ".tmp")
    tmp.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().to("cpu").half().contiguous() for k, v in rd.trained_state(model).items()}
    save_file(state, str(tmp / rd.WEIGHTS_FILE))
    config = {"layers": args.layers, "max_tokens": args.max_tokens, "question_tokens": args.question_tokens,
              "stride": rd.STRIDE, "holdout": args.holdout, "base_model": bm.MODEL_ID, "dtype": "float16", **extra}
    (tmp / rd.CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    write_manifest(tmp)
    if folder.exists():
        for f in folder.iterdir():
            f.unlink()
        folder.rmdir()
    tmp.rename(folder)


def write_manifest(folder: Path) -> None:
    files = {p.name: {"size": p.stat().st_size, "sha256": hashlib.sha256(p.read_bytes()).hexdigest()}
             for p in sorted(folder.iterdir()) if p.is_file() and p.name not in ("manifest.json", "MODEL_CARD.md")}
    (folder / "manifest.json").write_text(json.dumps({"files": files}, indent=2) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import torch
    from tqdm import tqdm

    # `nohup cmd &` starts with SIGINT ignored: SIGTERM (and SIGINT) stop cleanly, saving a checkpoint.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    torch.set_num_threads(args.threads)
    random.seed(args.seed)
    torch.manual_seed(args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    base_dir = bm.materialize(args.model_cache or bm.default_cache_dir())
    rows = examples(args, base_dir)
    pad = 1
    model = rd.build_torch_model(base_dir, args.layers).to(args.device)
    frozen = ("bert.embeddings.", *(f"bert.encoder.layer.{i}." for i in range(args.freeze_layers)))
    # The optimizer holds every non-embedding parameter, so that a run resumed with another
    # --freeze-layers keeps its optimizer state; frozen ones get no gradient and AdamW skips them.
    optimized = [p for n, p in model.named_parameters() if not n.startswith("bert.embeddings.")]
    for name, param in model.named_parameters():
        param.requires_grad = not name.startswith(frozen)
    trainable = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in optimized if p.ndim > 1]
    no_decay = [p for p in optimized if p.ndim <= 1]
    heads = {id(p) for n, p in model.named_parameters() if n.startswith(("span.", "answer."))}
    groups = [([p for p in params if (id(p) in heads) == head], wd, mult)
              for head, mult in ((False, 1.0), (True, args.head_lr_multiplier))
              for params, wd in ((decay, args.weight_decay), (no_decay, 0.0))]
    optimizer = torch.optim.AdamW([{"params": ps, "weight_decay": wd, "lr_mult": mult} for ps, wd, mult in groups if ps],
                                  lr=args.lr)
    per_epoch = math.ceil(len(rows) / args.batch_size)
    total = args.max_steps or max(1, math.ceil(args.epochs * per_epoch))
    warm = max(1, int(args.warmup * total))

    budget_s = args.budget_minutes * 60 if args.budget_minutes is not None else None

    def lr_factor(step: int, wall_s: float) -> float:
        # Linear warmup, then linear decay to 0 at the last step or, with a budget, at the end of the budget,
        # whichever comes first: on a shared machine the speed varies, and a run stopped by its budget should
        # still have annealed.
        if step < warm:
            return (step + 1) / warm
        progress = (step - warm) / max(1, total - warm)
        if budget_s:
            progress = max(progress, wall_s / budget_s)
        return max(0.0, 1.0 - progress)

    step, seen, trained_s, wall_before = 0, 0, 0.0, 0.0
    ckpt = args.out / "checkpoint.pt"
    if args.resume and ckpt.exists():
        state = torch.load(ckpt, map_location=args.device, weights_only=False)
        model.load_state_dict(state["model"], strict=False)
        # Adam's moments by parameter, whatever the grouping was (the heads got their own groups later).
        saved = state["optimizer"]["state"]
        for index, param in enumerate(decay + no_decay if len(state["optimizer"]["param_groups"]) == 2 else
                                      [p for g in optimizer.param_groups for p in g["params"]]):
            if index in saved:
                optimizer.state[param] = {k: v.clone() if hasattr(v, "clone") else v for k, v in saved[index].items()}
        step, seen, trained_s, wall_before = state["step"], state["seen"], state["trained_s"], state["wall_s"]
        torch.set_rng_state(state["torch_rng"])
        print(f"resumed at step {step}/{total}", flush=True)
    commit = _commit()
    started = time.monotonic()

    def save(reason: str) -> None:
        tmp = ckpt.with_suffix(".tmp")
        torch.save({"model": rd.trained_state(model), "optimizer": optimizer.state_dict(),
                    "wall_s": wall_before + time.monotonic() - started, "step": step, "seen": seen, "trained_s": trained_s,
                    "torch_rng": torch.get_rng_state(), "args": vars(args)}, tmp)
        tmp.replace(ckpt)
        write_weights(model, args, args.out / "weights",
                      {"step": step, "total_steps": total, "examples_seen": seen, "train_seconds": round(trained_s),
                       "code_commit": commit, "command": " ".join(["python -m qa.training.reader", *(argv or sys.argv[1:])]),
                       "hyper": {k: v for k, v in vars(args).items() if not isinstance(v, Path)}})
        print(f"saved step {step}/{total} ({reason}), {seen} examples, {trained_s / 60:.1f} min of training",
              flush=True)

    print(f"{len(rows)} examples, {per_epoch} steps/epoch, {total} steps, batch {args.batch_size}, "
          f"{sum(p.numel() for p in trainable) / 1e6:.1f}M trainable parameters", flush=True)
    model.train()
    last_save = started
    bar = tqdm(total=total, initial=step, unit="step", file=sys.stderr, mininterval=10, dynamic_ncols=False)
    window: list[tuple[float, int]] = []
    try:
        while step < total:
            epoch, pos = divmod(step, per_epoch)
            order = list(range(len(rows)))
            random.Random(args.seed + epoch).shuffle(order)
            batch_rows = [rows[i] for i in order[pos * args.batch_size : (pos + 1) * args.batch_size]]
            t0 = time.monotonic()
            lr = args.lr * lr_factor(step, wall_before + t0 - started)
            for group in optimizer.param_groups:
                group["lr"] = lr * group["lr_mult"]
            batch = {k: v.to(args.device) for k, v in _batch(batch_rows, pad).items()}
            loss = loss_of(model, batch)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(trainable, 1.0)
            optimizer.step()
            dt = time.monotonic() - t0
            step += 1
            seen += len(batch_rows)
            trained_s += dt
            window = [*window[-49:], (dt, len(batch_rows))]
            rate = sum(n for _, n in window) / max(sum(d for d, _ in window), 1e-9)
            bar.set_postfix_str(f"loss {loss.item():.3f} {rate:.2f} ex/s lr {lr:.2e}",
                                refresh=False)
            bar.update(1)
            if step % 25 == 0:
                print(f"step {step}/{total} loss {loss.item():.4f} {rate:.2f} ex/s", flush=True)
            now = time.monotonic()
            if budget_s is not None and wall_before + now - started > budget_s:
                save("budget reached")
                return 0
            if now - last_save > args.checkpoint_minutes * 60:
                save("periodic")
                last_save = now
    except KeyboardInterrupt:
        save("interrupted")
        return 130
    finally:
        bar.close()
    save("finished")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    raise SystemExit(main())
