#!/usr/bin/env python3
"""PyTorch CPU reference for scripts/bench-student.ts: the same student, losses and optimizer.

The student is Hugging Face's BERT (post-LayerNorm, erf GELU, additive -10000 key mask, tanh
pooler) written out in plain torch; the step is forward -> hidden MSE (every layer, embedding
included) + attention-score MSE (TinyBERT's: entries <= -100 and padded pairs zeroed) + soft
cross-entropy (T = 1) -> backward -> AdamW (bias/LayerNorm without decay). Teacher features are
fixed random tensors of the student's own shapes (a 1:1 layer mapping, no projection).

Prints one JSON line: ms per step (and each step's), the BLAS torch was built with, and a matmul GFLOP/s figure.
Installs nothing; without torch it says what to install and exits 3.
"""
import argparse
import json
import math
import resource
import sys
import time

try:
    import torch
    import torch.nn.functional as F
except ImportError:
    print("PyTorch is not installed for " + sys.executable + ". On Debian: "
          "apt-get install python3-torch libopenblas0-pthread", file=sys.stderr)
    sys.exit(3)


def blas_summary():
    """The BLAS-related lines of torch.__config__.show(), and the BLAS library actually loaded."""
    keep = []
    for line in torch.__config__.show().splitlines():
        line = line.strip()
        if line.startswith("- Build settings:"):
            keep += [kv.strip() for kv in line.split(":", 1)[1].split(",") if kv.strip().startswith(("BLAS_INFO", "LAPACK_INFO"))]
        elif any(k in line for k in ("MKL", "OpenMP", "CPU capability", "BLAS")):
            keep.append(line.lstrip("- "))
    try:
        with open("/proc/self/maps") as f:
            libs = sorted({l.split()[-1].rsplit("/", 1)[-1] for l in f if "blas" in l.lower()})
        keep.append("loaded: " + (", ".join(libs) or "no BLAS library mapped"))
    except OSError:
        pass
    return keep


def matmul_gflops(threads):
    a = torch.randn(2048, 512)
    b = torch.randn(512, 512)
    for _ in range(3):
        a @ b
    n = 20
    t0 = time.perf_counter()
    for _ in range(n):
        a @ b
    dt = (time.perf_counter() - t0) / n
    return 2 * 2048 * 512 * 512 / dt / 1e9


class Student(torch.nn.Module):
    def __init__(self, V, H, layers, heads, ffn, P=512, T=2, labels=2, drop=0.1):
        super().__init__()
        self.H, self.heads, self.drop = H, heads, drop
        self.word = torch.nn.Embedding(V, H)
        self.pos = torch.nn.Embedding(P, H)
        self.typ = torch.nn.Embedding(T, H)
        self.ln_e = torch.nn.LayerNorm(H, eps=1e-12)
        L = torch.nn.Linear
        self.layers = torch.nn.ModuleList()
        for _ in range(layers):
            m = torch.nn.Module()
            m.q, m.k, m.v, m.o = L(H, H), L(H, H), L(H, H), L(H, H)
            m.ln1 = torch.nn.LayerNorm(H, eps=1e-12)
            m.up, m.down = L(H, ffn), L(ffn, H)
            m.ln2 = torch.nn.LayerNorm(H, eps=1e-12)
            self.layers.append(m)
        self.pool = L(H, H)
        self.cls = L(H, labels)
        for p in self.parameters():
            if p.dim() > 1:
                torch.nn.init.normal_(p, std=0.02)

    def forward(self, ids, types, mask):
        B, Lq = ids.shape
        H, h = self.H, self.heads
        d = H // h
        dp = lambda x: F.dropout(x, self.drop, self.training)
        x = self.word(ids) + self.typ(types) + self.pos(torch.arange(Lq))[None]
        x = dp(self.ln_e(x))
        key_bias = ((1 - mask) * -10000.0)[:, None, None, :]
        hidden, scores_all = [x], []
        for m in self.layers:
            split = lambda t: t.view(B, Lq, h, d).transpose(1, 2)
            q = split(m.q(x) * (1 / math.sqrt(d)))
            k = split(m.k(x))
            v = split(m.v(x))
            scores = q @ k.transpose(-1, -2) + key_bias
            probs = dp(torch.softmax(scores, -1))
            ctx = (probs @ v).transpose(1, 2).reshape(B, Lq, H)
            a = m.ln1(dp(m.o(ctx)) + x)
            x = m.ln2(dp(m.down(F.gelu(m.up(a)))) + a)
            hidden.append(x)
            scores_all.append(scores)
        logits = self.cls(dp(torch.tanh(self.pool(x[:, 0]))))
        return logits, hidden, scores_all


def hidden_mse(s, t, mask):
    return (((s - t) ** 2) * mask[:, :, None]).sum() / (mask.sum() * s.shape[2])


def attention_mse(s, t, mask):
    pair = (mask[:, None, :, None] * mask[:, None, None, :])
    clean = lambda x: torch.where(x <= -100, torch.zeros_like(x), x) * pair
    return ((clean(s) - clean(t)) ** 2).sum() / (pair.sum() * s.shape[1])


def soft_ce(s, t):
    return -(torch.softmax(t, -1) * torch.log_softmax(s, -1)).sum(-1).mean()


def main():
    ap = argparse.ArgumentParser()
    for k, v in dict(layers=4, hidden=312, heads=12, ffn=1200, vocab=30522, batch=32, seq=64, steps=5, warmup=2, threads=2, seed=0).items():
        ap.add_argument("--" + k, type=int, default=v)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    B, Lq, H = a.batch, a.seq, a.hidden
    model = Student(a.vocab, H, a.layers, a.heads, a.ffn)
    model.train()
    decay = [p for n, p in model.named_parameters() if not (n.endswith("bias") or "ln" in n)]
    no_decay = [p for n, p in model.named_parameters() if n.endswith("bias") or "ln" in n]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}], lr=1e-4, eps=1e-6)
    g = torch.Generator().manual_seed(1)
    ids = torch.randint(0, a.vocab, (B, Lq), generator=g)
    types = torch.zeros(B, Lq, dtype=torch.long)
    lengths = torch.randint(Lq // 2, Lq + 1, (B,), generator=g)
    mask = (torch.arange(Lq)[None] < lengths[:, None]).float()
    t_hidden = [torch.randn(B, Lq, H, generator=g) for _ in range(a.layers + 1)]
    t_scores = [torch.randn(B, a.heads, Lq, Lq, generator=g) + ((1 - mask) * -10000.0)[:, None, None, :] for _ in range(a.layers)]
    t_logits = torch.randn(B, 2, generator=g)

    def step():
        logits, hidden, scores = model(ids, types, mask)
        loss = soft_ce(logits, t_logits)
        for s, t in zip(hidden, t_hidden):
            loss = loss + hidden_mse(s, t, mask)
        for s, t in zip(scores, t_scores):
            loss = loss + attention_mse(s, t, mask)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss.item()

    for _ in range(a.warmup):
        step()
    step_ms = []
    for _ in range(a.steps):
        t0 = time.perf_counter()
        loss = step()
        step_ms.append((time.perf_counter() - t0) * 1000)
    ms = sum(step_ms) / len(step_ms)
    print(json.dumps({
        "ms_per_step": ms, "step_ms": step_ms, "loss": loss, "torch": torch.__version__, "threads": torch.get_num_threads(),
        "blas": blas_summary(), "matmul_gflops": matmul_gflops(a.threads),
        "params": sum(p.numel() for p in model.parameters()),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))


if __name__ == "__main__":
    main()
