"""Kill -9 every writing command of the knowledge base at every crash point, and check what is left.

    python scripts/fault_injection.py            # the full sweep (hundreds of kill points)
    python scripts/fault_injection.py --quick    # a few points of each command (the test suite runs this)

Each command (`index add` into an empty and into a full index, `remove`, `sync`, `rebuild`) runs
through the real command line in a child process, with one commit, a commit every 4 passages and
a commit every passage. A first run lists its crash points (assistant/crashpoints.py: vectors
written aside or in place, a document stored or deleted but not committed, before and after each
commit, the manifest, the BM25 cache, each old file removed); then, for each point, a fresh copy of
the same start is run with ASSISTANT_CRASH_AT=N and killed there with SIGKILL. After each kill:

- the index is consistent: manifest.json names a store that opens and records its embedder and
  roots; every document has all its chunks; the vector file of the committed generation holds
  exactly the chunks' ids; a BM25 cache, where there is one, exactly the same; every document lies
  under a recorded root (or the next sync would drop it); a search works;
- after an uninterrupted `sync`, the index is what it is after the command and a sync without a
  kill, or (killed before its commit) what it is after a sync alone: nothing half done persists;
- nothing the command removed, and the kill left removed, comes back with that sync.

Children are forked from this process after the embedder is loaded once (a fresh interpreter per
kill point would spend seconds importing and loading it).

The conversation history (SQLite) gets the same treatment by time, having no crash points of its
own: a writer appending exchanges, clearing and deleting conversations is killed after a random
delay, and the history must open, pass SQLite's integrity check and hold no half exchange.

Prints the kill points tried and every failure; exits 1 if there is any.
"""

from __future__ import annotations

import os

# Single-threaded numerics: OpenMP thread pools do not survive fork(), and the texts are tiny.
for _name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_name, "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import sqlite3  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

TOPICS = ["boiler", "garden", "telescope", "bicycle", "sourdough", "aquarium", "violin", "kayak", "orchid", "printer"]


def _text(topic: str, number: int, words: int) -> str:
    sentences = [f"The {topic} note {number} says step {i} matters for the {topic} when it is cold." for i in range(words // 12 + 1)]
    return f"# {topic.title()} {number}\n\n" + " ".join(sentences) + "\n"


def write_corpus(docs: Path) -> None:
    """Folder A (indexed at the start) and folder B (added by the `add` scenarios)."""
    for number, topic in enumerate(TOPICS):
        folder = docs / "A" / ("sub" if number % 3 == 0 else "")
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{topic}.md").write_text(_text(topic, number, 40 + 60 * (number % 4)))
    (docs / "A" / "old.txt").write_text("An old note about the shed roof, to be deleted.\n")
    for number, topic in enumerate(TOPICS[:6]):
        (docs / "B").mkdir(parents=True, exist_ok=True)
        (docs / "B" / f"{topic}-b.txt").write_text(_text(topic, 100 + number, 50 + 40 * number))


def change_for_sync(docs: Path) -> None:
    (docs / "A" / "garden.md").write_text(_text("garden", 1, 200) + "\nRevised: water twice a week.\n")
    (docs / "A" / "old.txt").unlink()
    (docs / "A" / "new.md").write_text(_text("lighthouse", 50, 120))
    (docs / "A" / "sub" / "extra.md").write_text(_text("glacier", 51, 80))


@dataclass
class Scenario:
    name: str
    args: list[str]  # after `assistant index`
    base: str  # "empty" or "A" (folder A indexed)
    prepare: Callable[[Path], None] = lambda docs: None
    removes: bool = False


def scenarios(docs: Path) -> list[Scenario]:
    return [
        Scenario("add to an empty index", ["add", str(docs / "A")], "empty"),
        Scenario("add", ["add", str(docs / "B")], "A"),
        Scenario("remove", ["remove", str(docs / "A" / "sub"), str(docs / "A" / "boiler.md")], "A", removes=True),
        Scenario("sync", ["sync"], "A", change_for_sync),
        Scenario("rebuild", ["rebuild"], "A"),
    ]


# name: (assistant.toml, try every Nth crash point): a commit per passage repeats the same steps
# many times over, so a third of them is enough.
VARIANTS = {
    "one commit": ("", 1),
    "a commit every 4 passages": ("[knowledge]\ncheckpoint_seconds = 0\nembed_group = 4\n", 1),
    "a commit every passage": ("[knowledge]\ncheckpoint_seconds = 0\nembed_group = 1\n", 3),
}
# The test suite's subset: the moments right after a commit and between writing the manifest aside
# and putting it in place (where `index remove` once lost its removal), for three commands.
QUICK_SCENARIOS = ("add", "remove", "sync")
QUICK_POINTS = ("committed", "manifest.json written aside")


# ---------------------------------------------------------------- running a command in a child


def run(work: Path, args: list[str], crash_at: int | None = None, crash_log: Path | None = None) -> int:
    """`assistant --index WORK/index index ARGS` in a forked child: its exit code, or -9 when killed."""
    from assistant import crashpoints
    from assistant.cli import main

    pid = os.fork()
    if pid == 0:  # the child: never returns
        code = 70
        try:
            os.chdir(work)
            os.environ.pop("ASSISTANT_CRASH_AT", None)
            os.environ.pop("ASSISTANT_CRASH_LOG", None)
            if crash_at is not None:
                os.environ["ASSISTANT_CRASH_AT"] = str(crash_at)
            if crash_log is not None:
                os.environ["ASSISTANT_CRASH_LOG"] = str(crash_log)
            crashpoints.reset()
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.dup2(devnull, 2)
            sys.argv = ["assistant", "--index", str(work / "index"), "--data-dir", str(work / "data"), "index", *args]
            main()
        except SystemExit as end:
            code = end.code if isinstance(end.code, int) else (0 if end.code is None else 1)
        except BaseException:  # reported as exit code 70
            pass
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)


# ---------------------------------------------------------------- what an index holds


@dataclass
class Inspection:
    problems: list[str] = field(default_factory=list)
    documents: dict[str, tuple] = field(default_factory=dict)  # path -> (sha256, chunk texts)
    roots: tuple = ()

    @property
    def signature(self) -> tuple:
        return tuple(sorted(self.documents.items())), self.roots


def _covered(path: str, roots) -> bool:
    import pathspec

    for root in roots:
        if path == root.path:
            return True
        if path.startswith(root.path.rstrip("/") + "/"):
            relative = os.path.relpath(path, root.path)
            excluded = root.exclude and pathspec.GitIgnoreSpec.from_lines(root.exclude).match_file(relative)
            if not excluded:
                return True
    return False


def inspect(folder: Path) -> Inspection:
    """Check the invariants of the index in folder; its documents and roots, to compare."""
    from assistant.retrieval import KnowledgeBase
    from assistant.retrieval.knowledge import IndexState, Manifest
    from assistant.retrieval.lexical import LexicalIndex
    from assistant.retrieval.vectors import VectorIndex

    found = Inspection()
    problem = found.problems.append
    manifest_path = folder / "manifest.json"
    if not manifest_path.exists():
        return found  # nothing was ever committed and published: an empty index
    try:
        manifest = Manifest.from_json(manifest_path.read_text())
    except Exception as error:
        problem(f"manifest.json unreadable: {error}")
        return found
    database = folder / f"{manifest.store}.sqlite3"
    if not database.is_file():
        problem(f"manifest names {database.name}, which is missing")
        return found
    connection = sqlite3.connect(database)
    try:
        meta = dict(connection.execute("SELECT key, value FROM meta"))
        generation = int(meta.get("generation", "0"))
        if "state" in meta:
            state = IndexState.from_dict(json.loads(meta["state"]))
        elif manifest.legacy is not None:  # format 1: the state is in the manifest
            state = manifest.legacy
        else:
            problem("neither the store nor the manifest records the embedder and roots")
            return found
        found.roots = tuple((r.path, tuple(r.include), tuple(r.exclude)) for r in state.roots)
        chunk_ids = set()
        for document_id, path, sha256, count in connection.execute("SELECT id, path, sha256, chunks FROM documents"):
            rows = connection.execute("SELECT id, text FROM chunks WHERE document_id = ? ORDER BY position",
                                      (document_id,)).fetchall()
            if len(rows) != count:
                problem(f"{path}: {len(rows)} chunks stored, {count} recorded")
            chunk_ids.update(row[0] for row in rows)
            found.documents[path] = (sha256, tuple(row[1] for row in rows))
            if not _covered(path, state.roots):
                problem(f"{path} is indexed but under no recorded root (sync would drop it)")
        orphans = connection.execute("SELECT count(*) FROM chunks WHERE document_id NOT IN (SELECT id FROM documents)").fetchone()[0]
        if orphans:
            problem(f"{orphans} chunks belong to no document")
    finally:
        connection.close()
    if generation == 0:
        if chunk_ids:
            problem(f"{len(chunk_ids)} chunks but no vector generation")
    else:
        vector_path = folder / f"{manifest.store}.{generation}.faiss"
        try:
            vectors = VectorIndex.read(vector_path)
            if vectors.size != len(chunk_ids):
                problem(f"{vector_path.name}: {vectors.size} vectors for {len(chunk_ids)} chunks")
            elif chunk_ids:
                vectors.vectors(sorted(chunk_ids))  # raises for an id the index lacks
        except Exception as error:
            problem(f"{vector_path.name}: {type(error).__name__}: {error}")
        cache = folder / f"{manifest.store}.{generation}.bm25"
        if cache.exists():
            try:
                ids = set(int(i) for i in LexicalIndex.load(cache).ids)
                if ids != chunk_ids:
                    problem(f"{cache.name}: {len(ids)} chunk ids, {len(ids ^ chunk_ids)} differ from the store's")
            except Exception as error:
                problem(f"{cache.name}: {type(error).__name__}: {error}")
    knowledge = KnowledgeBase(folder)
    try:
        knowledge.search("how do I look after the garden", k=3)
        listed = {info.path for info in knowledge.documents()}
        if listed != set(found.documents):
            problem("`index list` disagrees with the store")
    except Exception as error:
        problem(f"search fails: {type(error).__name__}: {error}")
    finally:
        knowledge.close()
    return found


# ---------------------------------------------------------------- the sweep


@dataclass
class Result:
    tried: int = 0
    failures: list[str] = field(default_factory=list)
    by_scenario: dict[str, int] = field(default_factory=dict)


class Sweep:
    def __init__(self, work: Path) -> None:
        self.work = work
        self.docs = work / "docs"
        self.pristine = work / "pristine"
        self.bases: dict[str, Path] = {}

    def setup(self) -> None:
        write_corpus(self.pristine / "docs")
        self._restore("empty", "")
        code = run(self.work, ["add", str(self.docs / "A")])
        if code != 0:
            raise SystemExit(f"setting up the index failed (exit {code})")
        self.bases["A"] = self.work / "base-A"
        shutil.copytree(self.work / "index", self.bases["A"])

    def _restore(self, base: str, config: str) -> None:
        for name in ("docs", "index", "data"):
            shutil.rmtree(self.work / name, ignore_errors=True)
        # copytree keeps modification times, so unchanged files stay unchanged for the index.
        shutil.copytree(self.pristine / "docs", self.docs)
        if base != "empty":
            shutil.copytree(self.bases[base], self.work / "index")
        (self.work / "assistant.toml").write_text(config)

    def _start(self, scenario: Scenario, config: str) -> None:
        self._restore(scenario.base, config)
        scenario.prepare(self.docs)

    def _settled(self, scenario: Scenario, config: str, with_command: bool) -> tuple[Inspection, Inspection]:
        """(right after the command, after a sync too); without the command: the start, and a sync of it."""
        self._start(scenario, config)
        if with_command:
            run(self.work, scenario.args)
        first = inspect(self.work / "index")
        run(self.work, ["sync"])
        return first, inspect(self.work / "index")

    def points(self, scenario: Scenario, config: str) -> list[str]:
        self._start(scenario, config)
        record = self.work / "crash-points.txt"
        record.unlink(missing_ok=True)
        run(self.work, scenario.args, crash_log=record)
        return record.read_text().splitlines() if record.exists() else []

    def scenario(self, scenario: Scenario, variant: str, config: str, every: int, quick: bool, result: Result,
                 report: Callable[[str], None]) -> None:
        label = f"{scenario.name} ({variant})"
        before, before_synced = self._settled(scenario, config, with_command=False)
        after, after_synced = self._settled(scenario, config, with_command=True)
        for name, state in (("start", before), ("after the command", after), ("after a sync", after_synced)):
            for problem in state.problems:
                result.failures.append(f"{label}, uninterrupted, {name}: {problem}")
        allowed = {before_synced.signature, after_synced.signature}
        removed = set(before.documents) - set(after.documents)
        points = self.points(scenario, config)
        if quick:
            chosen = [next((n, p) for n, p in enumerate(points, start=1) if p.endswith(" " + name))
                      for name in QUICK_POINTS if any(p.endswith(" " + name) for p in points)]
        else:
            chosen = [(n, point) for n, point in enumerate(points, start=1) if (n - 1) % every == 0]
        report(f"{label}: {len(points)} crash points, trying {len(chosen)}")
        failed_before = len(result.failures)
        for number, point in chosen:
            where = f"{label}, killed at point {number} ({point.split(' ', 1)[1]})"
            self._start(scenario, config)
            code = run(self.work, scenario.args, crash_at=number)
            result.tried += 1
            result.by_scenario[label] = result.by_scenario.get(label, 0) + 1
            if code != -signal.SIGKILL:
                result.failures.append(f"{where}: not killed (exit {code}); the crash points are not deterministic")
                continue
            killed = inspect(self.work / "index")
            result.failures += [f"{where}: {problem}" for problem in killed.problems]
            code = run(self.work, ["sync"])
            synced = inspect(self.work / "index")
            result.failures += [f"{where}, then sync: {problem}" for problem in synced.problems]
            if code != 0:
                result.failures.append(f"{where}: the sync after it exited {code}")
            if synced.signature not in allowed:
                extra = set(synced.documents) - set(after_synced.documents)
                lacking = set(after_synced.documents) - set(synced.documents)
                result.failures.append(f"{where}, then sync: neither the start nor the finished command "
                                       f"(extra {sorted(extra)[:3]}, lacking {sorted(lacking)[:3]})")
            back = {path for path in removed if path not in killed.documents and path in synced.documents}
            if back:
                result.failures.append(f"{where}: removed documents came back with sync: {sorted(back)[:3]}")
        for failure in result.failures[failed_before:]:
            report(f"FAIL {failure}")
        report(f"  {len(chosen)} tried, {len(result.failures) - failed_before} failures; {result.tried} tried in all")


# ---------------------------------------------------------------- the conversation history

HISTORY_WRITER = """
import random, sys
from pathlib import Path
from assistant.conversation.history import HistoryStore

store = HistoryStore(Path(sys.argv[1]))
rng = random.Random(int(sys.argv[2]))
print("ready", flush=True)
for number in range(10**9):
    conversation = f"c{rng.randrange(4)}"
    roll = rng.random()
    if roll < 0.85:
        store.append_exchange(conversation, f"question {number}", f"answer {number} " * rng.randrange(1, 400), skill="chat")
    elif roll < 0.95:
        store.delete(conversation)
    else:
        store.clear(conversation)
"""


def history_problems(path: Path) -> list[str]:
    """Why the history at path is not whole: it must open, pass SQLite's check, pair every question."""
    from assistant.conversation.history import HistoryStore

    problems = []
    try:
        store = HistoryStore(path)
    except Exception as error:
        return [f"does not open: {error}"]
    try:
        check = store._db.execute("PRAGMA integrity_check").fetchone()[0]
        if check != "ok":
            problems.append(f"integrity check: {check}")
        for conversation in store.conversations():
            roles = [turn.role for turn in store.turns(conversation.id)]
            if roles != ["user", "assistant"] * (len(roles) // 2):
                problems.append(f"{conversation.id}: a half exchange ({len(roles)} turns)")
        store.append_exchange("after", "still writable?", "yes")
    except Exception as error:
        problems.append(f"{type(error).__name__}: {error}")
    finally:
        store.close()
    return problems


def history_sweep(work: Path, trials: int, result: Result, report: Callable[[str], None]) -> None:
    path = work / "history.sqlite3"  # one file for all trials: damage would accumulate
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    rng = random.Random(7)
    failed_before = len(result.failures)
    for trial in range(trials):
        writer = subprocess.Popen([sys.executable, "-c", HISTORY_WRITER, str(path), str(trial)],
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
        writer.stdout.readline()  # "ready": the store is open
        time.sleep(rng.uniform(0.0, 0.3))
        writer.send_signal(signal.SIGKILL)
        writer.wait()
        writer.stdout.close()
        result.tried += 1
        result.by_scenario["history"] = result.by_scenario.get("history", 0) + 1
        result.failures += [f"history, kill {trial + 1}: {problem}" for problem in history_problems(path)]
    for failure in result.failures[failed_before:]:
        report(f"FAIL {failure}")
    report(f"history: {trials} kills at random moments, {len(result.failures) - failed_before} failures")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="only the first commit and manifest write of add, remove and sync (seconds, for the tests)")
    parser.add_argument("--every", type=int, default=1,
                        help="try every Nth crash point (default: all, a third with a commit per passage)")
    parser.add_argument("--only", help="only scenarios whose name contains this")
    parser.add_argument("--history", type=int, default=None, metavar="N",
                        help="kill the history writer N times (default: 50, 5 with --quick; 0: not at all)")
    parser.add_argument("--work", type=Path, help="working folder (default: a new temporary one, deleted after)")
    parser.add_argument("--json", action="store_true", help="print the result as one JSON object")
    options = parser.parse_args(argv)

    import torch

    torch.set_num_threads(1)
    from assistant.llm.plan import cpu_model
    from assistant.retrieval.embedder import DEFAULT_EMBEDDER, load_embedder

    started = time.monotonic()
    load_embedder(DEFAULT_EMBEDDER).encode(["warm up"])  # loaded once, shared by every forked child
    work = options.work or Path(tempfile.mkdtemp(prefix="assistant-faults-"))
    work.mkdir(parents=True, exist_ok=True)
    say = (lambda line: None) if options.json else (lambda line: print(line, flush=True))
    result = Result()
    try:
        history = options.history if options.history is not None else (5 if options.quick else 50)
        if history and not options.only:
            history_sweep(work, history, result, say)
        sweep = Sweep(work)
        sweep.setup()
        variants = {"one commit": VARIANTS["one commit"]} if options.quick else VARIANTS
        for variant, (config, stride) in variants.items():
            for scenario in scenarios(sweep.docs):
                if options.only and options.only not in scenario.name:
                    continue
                if options.quick and scenario.name not in QUICK_SCENARIOS:
                    continue
                sweep.scenario(scenario, variant, config, stride * max(options.every, 1), options.quick, result, say)
    finally:
        if options.work is None:
            shutil.rmtree(work, ignore_errors=True)
    seconds = time.monotonic() - started
    if options.json:
        print(json.dumps({"tried": result.tried, "failures": result.failures, "by_scenario": result.by_scenario,
                          "seconds": round(seconds, 1)}))
    else:
        print(f"{result.tried} kill points tried, {len(result.failures)} failures, {seconds:.0f} s "
              f"({cpu_model()}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f})")
    return 1 if result.failures else 0


if __name__ == "__main__":
    sys.exit(main())
