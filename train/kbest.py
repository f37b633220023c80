"""K-Best Search, the neural architecture search of Ensemble-NAS-GCN (method.md step 3).

Population of K architectures. **Phase 1**: random architectures (every choice uniform over its
alternatives) are trained and kept while their validation AUC ≥ ``keep_threshold`` (0.9) until
the population is full. **Phase 2**: a candidate is composed choice by choice from the
alternatives present in the population; alternative a is picked with probability
softmax(R(a)/T) over the present alternatives, R(a) = the sum of the population ranks (K for
the best … 1 for the worst) of the members using a. A candidate better than the population's
worst replaces it; after K unsuccessful candidates in a row the temperature drops by 3
(10 → 7 → 4 → 1); the search stops after K unsuccessful candidates at T = 1.

Early stopping: a candidate is abandoned when its validation AUC is below 0.75, 0.775, …, 0.95
at epochs 10, 20, …, 90 of 100. With fewer epochs E the check epochs scale to round(e·E/100)
(at least 1, below E; where two checks land on one epoch the stricter one applies) — see
``early_stop_schedule``. A trial's AUC is its best validation AUC (early-stopping checkpoint).

Resumable: after every trial a state JSON (population, temperature, counters, the numpy
generator's state, results cache) is written atomically and the trial is appended to a JSONL
log; each trial trains with a seed derived from (search seed, trial number), so an interrupted
and resumed search gives the same result as an uninterrupted one.

Departures needed for small budgets, all configurable and off by default: ``max_trials`` caps
the number of trials (if phase 1 cannot fill the population before the cap, it is topped up
with the best trials seen, and the summary says so); ``space`` may restrict the alternatives
(a compact search space) — the published space is ``train.search_space.SEARCH_SPACE``.
"""

from __future__ import annotations

import itertools
import json
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

STATE_FILE = "search_state.json"
TRIALS_FILE = "trials.jsonl"
SUMMARY_FILE = "summary.json"
AUC_BINS = (0.0, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 1.0000001)

Space = Mapping[str, Sequence[Any]]
Config = dict[str, Any]


@dataclass
class SearchConfig:
    """K-Best Search settings; defaults are the published ones (method.md)."""

    k: int = 5
    epochs: int = 100
    keep_threshold: float = 0.9
    t_start: float = 10.0
    t_step: float = 3.0
    t_end: float = 1.0
    stop_first: float = 0.75
    stop_step: float = 0.025
    max_trials: int | None = None
    seed: int = 0


@dataclass
class TrialOutcome:
    auc: float
    epochs_run: int
    abandoned_at: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


#: objective(config, trial_seed, stop_rule) → outcome; stop_rule(epoch, auc) → abandon?
Objective = Callable[[Config, int, Callable[[int, float], bool]], TrialOutcome]


def early_stop_schedule(epochs: int, cfg: SearchConfig | None = None) -> dict[int, float]:
    """{epoch: minimum AUC}: 0.75…0.95 at 10…90 of 100 epochs, scaled to ``epochs``."""
    cfg = cfg or SearchConfig()
    out: dict[int, float] = {}
    for i in range(9):
        e = max(1, round((i + 1) * 10 * epochs / 100))
        if e >= epochs:
            continue
        out[e] = max(out.get(e, 0.0), round(cfg.stop_first + cfg.stop_step * i, 6))
    return out


def key_of(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def config_key(config: Config) -> str:
    return json.dumps(config, sort_keys=True)


def ranks(population: list[dict[str, Any]]) -> list[int]:
    """Rank of each member: len(population) for the best AUC … 1 for the worst (stable on ties)."""
    order = sorted(range(len(population)), key=lambda i: (-population[i]["auc"], i))
    r = [0] * len(population)
    for pos, i in enumerate(order):
        r[i] = len(population) - pos
    return r


def alternative_probabilities(
    population: list[dict[str, Any]], temperature: float
) -> dict[str, tuple[list[Any], np.ndarray]]:
    """Per choice: the alternatives present in the population and their softmax(R/T) probabilities."""
    rk = ranks(population)
    out: dict[str, tuple[list[Any], np.ndarray]] = {}
    for choice in population[0]["config"]:
        score: dict[str, float] = {}
        values: dict[str, Any] = {}
        for member, r in zip(population, rk, strict=True):
            v = member["config"][choice]
            score[key_of(v)] = score.get(key_of(v), 0.0) + r
            values[key_of(v)] = v
        keys = sorted(score)
        z = np.array([score[k] / temperature for k in keys])
        p = np.exp(z - z.max())
        out[choice] = ([values[k] for k in keys], p / p.sum())
    return out


def random_config(space: Space, rng: np.random.Generator) -> Config:
    return {c: _plain(alts[int(rng.integers(len(alts)))]) for c, alts in space.items()}


def compose_candidate(
    population: list[dict[str, Any]], temperature: float, rng: np.random.Generator
) -> Config:
    out: Config = {}
    for choice, (alts, p) in alternative_probabilities(population, temperature).items():
        out[choice] = alts[int(rng.choice(len(alts), p=p))]
    return out


def _plain(v: Any) -> Any:
    """JSON-able alternative (numpy scalars → Python; enums → their value)."""
    if hasattr(v, "item"):
        return v.item()
    if hasattr(v, "value") and not isinstance(v, (int, float, str)):
        return v.value
    return v


def _atomic_json(path: Path, data: Any) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=1, default=str))
    os.replace(tmp, path)


class KBestSearch:
    """The search, driven trial by trial; all state lives in ``out_dir``."""

    def __init__(self, out_dir: str | Path, space: Space, cfg: SearchConfig, objective: Objective) -> None:
        self.out = Path(out_dir)
        self.out.mkdir(parents=True, exist_ok=True)
        self.space = {c: [_plain(a) for a in alts] for c, alts in space.items()}
        self.cfg = cfg
        self.objective = objective
        self.rng = np.random.default_rng(cfg.seed)
        self.state: dict[str, Any] = {
            "phase": 1,
            "trial": 0,
            "population": [],
            "temperature": cfg.t_start,
            "unsuccessful": 0,
            "done": False,
            "topped_up": False,
            "cache": {},
            "seen": [],
        }

    # --- persistence --------------------------------------------------------------------

    @property
    def state_path(self) -> Path:
        return self.out / STATE_FILE

    def save(self) -> None:
        data = dict(self.state, rng=self.rng.bit_generator.state, config=asdict(self.cfg), space=self.space)
        _atomic_json(self.state_path, data)

    def resume(self) -> bool:
        """Load the saved state (and drop log lines of a trial that did not finish); False if none."""
        if not self.state_path.exists():
            return False
        data = json.loads(self.state_path.read_text())
        self.rng.bit_generator.state = data.pop("rng")
        data.pop("config", None)
        data.pop("space", None)
        self.state = data
        log = self.out / TRIALS_FILE
        if log.exists():
            lines = [ln for ln in log.read_text().splitlines() if ln.strip()]
            keep = [ln for ln in lines if json.loads(ln)["trial"] < self.state["trial"]]
            log.write_text("".join(ln + "\n" for ln in keep))
        return True

    def trials(self) -> list[dict[str, Any]]:
        log = self.out / TRIALS_FILE
        if not log.exists():
            return []
        return [json.loads(ln) for ln in log.read_text().splitlines() if ln.strip()]

    # --- algorithm ----------------------------------------------------------------------

    def _evaluate(self, config: Config, trial: int) -> TrialOutcome:
        key = config_key(config)
        if key in self.state["cache"]:  # an architecture already trained gets the same AUC
            c = self.state["cache"][key]
            return TrialOutcome(
                auc=c["auc"], epochs_run=0, abandoned_at=c["abandoned_at"], extra={"cached": True}
            )
        schedule = early_stop_schedule(self.cfg.epochs, self.cfg)

        def stop_rule(epoch: int, auc: float) -> bool:
            return epoch in schedule and auc < schedule[epoch]

        seed = int(np.random.SeedSequence([self.cfg.seed, trial]).generate_state(1)[0])
        outcome = self.objective(config, seed, stop_rule)
        self.state["cache"][key] = {"auc": outcome.auc, "abandoned_at": outcome.abandoned_at}
        return outcome

    def step(self) -> dict[str, Any]:
        """Run one trial and persist; returns its log record."""
        st, cfg = self.state, self.cfg
        trial = st["trial"]
        t0 = time.time()
        phase = st["phase"]
        temperature = st["temperature"]
        config = (
            random_config(self.space, self.rng)
            if phase == 1
            else compose_candidate(st["population"], st["temperature"], self.rng)
        )
        outcome = self._evaluate(config, trial)
        auc = -1.0 if outcome.abandoned_at is not None else outcome.auc
        member = {"config": config, "auc": outcome.auc, "trial": trial}
        accepted = False
        if phase == 1:
            st["seen"].append({**member, "abandoned": outcome.abandoned_at is not None})
            known = {config_key(m["config"]) for m in st["population"]}
            if auc >= cfg.keep_threshold and config_key(config) not in known:
                st["population"].append(member)
                accepted = True
            if len(st["population"]) >= cfg.k:
                st["phase"] = 2
        else:
            pop = st["population"]
            worst = min(range(len(pop)), key=lambda i: (pop[i]["auc"], -i))
            if auc > pop[worst]["auc"]:
                pop[worst] = member
                accepted = True
                st["unsuccessful"] = 0
            else:
                st["unsuccessful"] += 1
                if st["unsuccessful"] >= cfg.k:
                    if st["temperature"] <= cfg.t_end + 1e-9:
                        st["done"] = True
                    else:
                        st["temperature"] = max(cfg.t_end, st["temperature"] - cfg.t_step)
                        st["unsuccessful"] = 0
        record = {
            "trial": trial,
            "phase": phase,
            "config": config,
            "auc": outcome.auc,
            "abandoned_at": outcome.abandoned_at,
            "epochs_run": outcome.epochs_run,
            "temperature": temperature if phase == 2 else None,
            "accepted": accepted,
            "seconds": round(time.time() - t0, 2),
            **outcome.extra,
        }
        st["trial"] = trial + 1
        if cfg.max_trials is not None and st["trial"] >= cfg.max_trials and not st["done"]:
            self._top_up()
            st["done"] = True
        with (self.out / TRIALS_FILE).open("a") as fh:
            fh.write(json.dumps(record, default=str) + "\n")
        self.save()
        return record

    def _top_up(self) -> None:
        """Trial cap hit in phase 1: fill the population with the best trials seen (completed first)."""
        st = self.state
        if len(st["population"]) >= self.cfg.k:
            return
        have = {config_key(m["config"]) for m in st["population"]}
        rest = sorted(
            (m for m in st["seen"] if config_key(m["config"]) not in have),
            key=lambda m: (m["abandoned"], -m["auc"]),
        )
        for m in rest:
            if len(st["population"]) >= self.cfg.k:
                break
            if config_key(m["config"]) not in have:
                st["population"].append({k: m[k] for k in ("config", "auc", "trial")})
                have.add(config_key(m["config"]))
        st["topped_up"] = True

    def run(
        self, *, on_trial: Callable[[dict[str, Any]], None] | None = None, stop_after: int | None = None
    ) -> dict:
        """Run until done (or ``stop_after`` more trials, to simulate an interruption)."""
        n = 0
        while not self.state["done"] and (stop_after is None or n < stop_after):
            rec = self.step()
            n += 1
            if on_trial:
                on_trial(rec)
        summary = self.summary()
        if self.state["done"]:
            _atomic_json(self.out / SUMMARY_FILE, summary)
        return summary

    def population(self) -> list[dict[str, Any]]:
        """Population best first."""
        return sorted(self.state["population"], key=lambda m: (-m["auc"], m["trial"]))

    def summary(self) -> dict[str, Any]:
        trials = self.trials()
        bins = []
        for lo, hi in itertools.pairwise(AUC_BINS):
            n = sum(1 for t in trials if t["abandoned_at"] is None and lo <= t["auc"] < hi)
            bins.append({"auc_from": lo, "auc_to": min(hi, 1.0), "trials": n})
        done = [t for t in trials if t["abandoned_at"] is None]
        best = max(done, key=lambda t: t["auc"]) if done else None
        return {
            "trials": len(trials),
            "phase1_trials": sum(1 for t in trials if t["phase"] == 1),
            "phase2_trials": sum(1 for t in trials if t["phase"] == 2),
            "abandoned": sum(1 for t in trials if t["abandoned_at"] is not None),
            "auc_bins": bins,
            "best_auc": best["auc"] if best else None,  # JSON has no NaN
            "best_config": best["config"] if best else None,
            "final_temperature": self.state["temperature"],
            "population_topped_up": self.state.get("topped_up", False),
            "done": self.state["done"],
            "population": self.population(),
            "settings": asdict(self.cfg),
        }


# --- the search on a cohort (binds the algorithm to train.trainer) ---------------------------

SEARCH_FILE = "search.json"
#: The search validates on this development fold and trains on the other six.
SEARCH_VAL_FOLD = 0


def published_space() -> dict[str, list[Any]]:
    """The 20 choices and their alternatives (``train.search_space.SEARCH_SPACE``)."""
    from train.search_space import SEARCH_SPACE

    return {str(c): [_plain(a) for a in alts] for c, alts in dict(SEARCH_SPACE).items()}


def arch_from_dict(config: Config) -> Any:
    """``train.search_space.ArchConfig`` from a JSON config."""
    from train.search_space import ArchConfig

    if hasattr(ArchConfig, "from_dict"):
        return ArchConfig.from_dict(config)
    return ArchConfig(**config)


def load_selected(search_dir: str | Path, n: int | None = None) -> list[dict[str, Any]]:
    """The final population, best first (the selected architectures), optionally the best n."""
    state = json.loads((Path(search_dir) / STATE_FILE).read_text())
    pop = sorted(state["population"], key=lambda m: (-m["auc"], m["trial"]))
    return pop[:n] if n else pop


def run_search(
    cohort_csv: str | Path,
    out_dir: str | Path,
    search_cfg: SearchConfig,
    train_cfg: Any,
    *,
    space: Space | None = None,
    split_seed: int = 0,
    resume: bool = False,
    on_trial: Callable[[dict[str, Any]], None] | None = None,
    on_epoch: Callable[[int, float], None] | None = None,
) -> dict[str, Any]:
    """K-Best Search on a cohort's development set (train on folds 1–6, validate on fold 0)."""
    from earlycp.errors import EarlyCPError, ErrorCode
    from train.cohort import load_cohort, prepare, stratified_split
    from train.trainer import TrainConfig, train_instance

    out = Path(out_dir)
    if (out / STATE_FILE).exists() and not resume:
        raise EarlyCPError(
            ErrorCode.INVALID_INPUT, detail=f"{out} holds a search; pass --resume or a new directory"
        )
    if resume and (out / SEARCH_FILE).exists():  # a resumed search keeps its own settings
        saved = json.loads((out / SEARCH_FILE).read_text())
        search_cfg = SearchConfig(**saved["search_config"])
        train_cfg = TrainConfig(**saved["train_config"])
        space, split_seed = saved["space"], saved["split_seed"]
    infants = load_cohort(cohort_csv)
    split = stratified_split(infants, seed=split_seed)
    seqs = prepare(infants)
    layout = next(iter(seqs.values())).layout
    labels = {i.infant_id: i.cp for i in infants}
    train_ids, val_ids = split.fold(SEARCH_VAL_FOLD)
    space = dict(space) if space is not None else published_space()
    out.mkdir(parents=True, exist_ok=True)
    _atomic_json(
        out / SEARCH_FILE,
        {
            "cohort": str(Path(cohort_csv).resolve()),
            "layout": layout.name,
            "split_seed": split_seed,
            "split": split.as_dict(),
            "search_val_fold": SEARCH_VAL_FOLD,
            "search_config": asdict(search_cfg),
            "train_config": train_cfg.as_dict(),
            "space": space,
        },
    )

    def objective(config: Config, seed: int, stop_rule: Callable[[int, float], bool]) -> TrialOutcome:
        cfg = TrainConfig(**{**train_cfg.as_dict(), "epochs": search_cfg.epochs, "seed": seed})
        res = train_instance(
            arch_from_dict(config),
            layout,
            seqs,
            labels,
            train_ids,
            val_ids,
            cfg,
            stop_rule=stop_rule,
            on_epoch=on_epoch,
        )
        return TrialOutcome(auc=res.best_auc, epochs_run=len(res.history), abandoned_at=res.abandoned_at)

    search = KBestSearch(out, space, search_cfg, objective)
    if resume:
        search.resume()
    return search.run(on_trial=on_trial)
