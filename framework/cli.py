"""The ``bucle`` command.

Only argparse and the error types are imported here: every command's module (and with it
Hydra, pandas, scikit-learn, DVC) is imported when that command runs, so ``bucle --help`` and
``bucle plugins`` stay fast. A :class:`~framework.errors.BucleError` is printed as one line on
stderr with its exit code; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from framework import __version__
from framework.errors import BucleError

EPILOG = """examples:
  bucle run                                    run the whole pipeline with conf/'s defaults
  bucle run model=random_forest seed=7         ... with Hydra overrides
  bucle run -m model=logreg,random_forest      sweep: every job is a tracked run
  bucle stage train                            one stage with params.yaml (what dvc repro runs)
  bucle params                                 recompose params.yaml from conf/
  bucle runs list | show ID | compare A B | reproduce ID
  bucle models list | show VERSION | card VERSION
  bucle models promote VERSION --alias production | rollback
  bucle models list project=credit             any inspection command takes run's overrides
  bucle serve --port 8000                      the model of serve.alias over HTTP
  bucle deploy | deploy status | deploy stop   the server as a background process
  bucle release [deploy.strategy=canary]       staging smoke tests, then promote or roll back
  bucle monitor --since 24h [--fail-on-drift]  drift, quality, performance, service report
  bucle traffic --rows 2000 data.drift=input   rehearse production traffic (and feedback)
  bucle retrain --if-needed                    retrain when a trigger fires, gate, release
  bucle features list | materialize | get ENTITY_ID...
  bucle plugins                                installed plugins per role
  bucle init my_project                        a new project: conf/, dvc.yaml, git and DVC
  bucle init --plugin tracker my_tracker       a plugin package whose role contract passes
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bucle",
        description="Declarative MLOps: one Hydra config for the whole ML lifecycle.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"bucle {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = commands.add_parser(
        "run",
        help="run the whole pipeline in one process (Hydra app: overrides, -m, --cfg job)",
        add_help=False,
    )
    run.add_argument("overrides", nargs=argparse.REMAINDER, help="Hydra overrides and flags")

    stage = commands.add_parser("stage", help="run one stage with params.yaml (used by dvc.yaml)")
    stage.add_argument("name", help="ingest, validate, featurize, train, evaluate or register")
    stage.add_argument("--params", default="params.yaml", help="config file (default params.yaml)")

    params = commands.add_parser("params", help="compose conf/ into params.yaml")
    params.add_argument("overrides", nargs="*", help="Hydra overrides to compose with")
    params.add_argument("--check", action="store_true", help="fail if params.yaml is stale")
    params.add_argument("--output", default="params.yaml", help="file to write")

    commands.add_parser("plugins", help="list installed plugins per role and whether they import")

    init = commands.add_parser("init", help="scaffold a new project (or plugin package)")
    init.add_argument("name", help="the project's (or plugin's) name: lower case, digits, _")
    init.add_argument(
        "--plugin",
        metavar="ROLE",
        help="scaffold a plugin package of this role instead: source, validator, tracker, "
        "store, registry, monitor or alerter",
    )

    runs = commands.add_parser("runs", help="tracked runs").add_subparsers(
        dest="action", metavar="ACTION", required=True
    )
    runs_list = runs.add_parser("list", help="the newest runs")
    runs_list.add_argument("--limit", type=int, default=20)
    runs_list.add_argument("--all", action="store_true", help="every project, not only this one")
    add_overrides(runs_list)
    add_overrides(runs.add_parser("show", help="one run: params, metrics, manifest"), "run_id")
    compare = runs.add_parser("compare", help="two runs side by side: what differs")
    compare.add_argument("run_ids", nargs=2, metavar="RUN_ID")
    add_overrides(compare)
    reproduce = runs.add_parser("reproduce", help="re-run from the stored config alone")
    reproduce.add_argument("run_id")

    models = commands.add_parser("models", help="registered model versions").add_subparsers(
        dest="action", metavar="ACTION", required=True
    )
    add_overrides(models.add_parser("list", help="every version with its aliases and metrics"))
    add_overrides(models.add_parser("show", help="one version with its lineage"), "version")
    add_overrides(
        models.add_parser("card", help="the model card (Markdown) of one version"), "version"
    )
    promote = models.add_parser("promote", help="point an alias at a version")
    promote.add_argument(
        "--alias", default="production", help="production (default), candidate or staging"
    )
    add_overrides(promote, "version")
    rollback = models.add_parser(
        "rollback", help="return an alias to the version it held before (default production)"
    )
    rollback.add_argument("--alias", default="production")
    add_overrides(rollback)

    serve = commands.add_parser(
        "serve", help="serve the model of serve.alias over HTTP (FastAPI on uvicorn)"
    )
    serve.add_argument("--host", default=None, help="address to listen on (serve.host)")
    serve.add_argument("--port", type=int, default=None, help="TCP port (serve.port)")
    serve.add_argument("--alias", default=None, help="registry alias to serve (serve.alias)")
    serve.add_argument(
        "--strategy",
        default=None,
        choices=("basic", "shadow", "canary"),
        help="traffic strategy (deploy.strategy)",
    )
    serve.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. serve.alias=staging")

    deploy = commands.add_parser(
        "deploy",
        help="start `bucle serve` in the background (deploy plugin); `status`, `stop`",
        description="bucle deploy [overrides]: start; bucle deploy status; bucle deploy stop",
    )
    deploy.add_argument("--host", default=None, help="address to listen on (serve.host)")
    deploy.add_argument("--port", type=int, default=None, help="TCP port (serve.port)")
    deploy.add_argument(
        "arguments",
        nargs="*",
        metavar="[status|stop] OVERRIDE",
        help="`status` or `stop`, else Hydra overrides, e.g. deploy.ready_timeout=30",
    )

    release = commands.add_parser(
        "release",
        help="staging smoke tests, then the deploy strategy: promote the candidate or roll back",
    )
    release.add_argument(
        "--version", type=int, default=None, help="release this version (moves `candidate`)"
    )
    release.add_argument(
        "--sample", default=None, help="CSV/Parquet rows for the smoke tests (default: test split)"
    )
    release.add_argument(
        "--url", default=None, help="production server to watch (default: `bucle deploy`'s)"
    )
    release.add_argument(
        "overrides", nargs="*", help="Hydra overrides, e.g. deploy.strategy=canary"
    )

    monitor = commands.add_parser(
        "monitor",
        help="drift, data quality, performance and service health of production traffic",
    )
    window = monitor.add_mutually_exclusive_group()
    window.add_argument("--since", default=None, help="a moment (ISO 8601) or a duration: 6h, 7d")
    window.add_argument("--last", type=int, default=None, help="the last N logged predictions")
    monitor.add_argument(
        "--fail-on-drift",
        action="store_true",
        help="exit 1 when a monitor finds drift or cannot compute a statistic (error)",
    )
    monitor.add_argument("--url", default=None, help="server whose /metrics to read")
    monitor.add_argument("--output", default=None, help="directory for the JSON and HTML report")
    monitor.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. monitor=[drift]")

    again = commands.add_parser(
        "retrain", help="retrain on labelled production traffic, gate against production, release"
    )
    again.add_argument("--if-needed", action="store_true", help="only when a retrain trigger fires")
    again.add_argument("--report", default=None, help="monitor report (default: the latest)")
    again.add_argument("--url", default=None, help="production server for a canary or shadow")
    again.add_argument(
        "overrides", nargs="*", help="Hydra overrides, e.g. retrain.data.strategy=new_only"
    )

    send = commands.add_parser(
        "traffic", help="send the data source's rows to a running server (and ground truth)"
    )
    send.add_argument("--rows", type=int, default=None, help="send at most N rows")
    send.add_argument("--batch", type=int, default=50, help="records per request (default 50)")
    send.add_argument(
        "--feedback", type=float, default=0.0, help="share of rows whose labels are sent back"
    )
    send.add_argument("--seed", type=int, default=None, help="source seed (default: seed + 1)")
    send.add_argument("--url", default=None, help="server (default: `bucle deploy`'s)")
    send.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. data.drift=input")

    features = commands.add_parser("features", help="derived features and the feature store")
    feature_actions = features.add_subparsers(dest="action", metavar="ACTION", required=True)
    feature_actions.add_parser("list", help="declared features and what the store holds")
    feature_actions.add_parser(
        "materialize", help="compute features from the validated table into the store"
    )
    lookup = feature_actions.add_parser("get", help="online lookup: latest features per entity")
    lookup.add_argument("entity_ids", nargs="+", metavar="ENTITY_ID")
    return parser


def add_overrides(parser: argparse.ArgumentParser, positional: str | None = None) -> None:
    """An inspection command's optional positional (a run id, a version) and the same Hydra
    overrides as ``bucle run`` (``project=credit``), so it reads the project a run wrote to."""
    if positional == "version":
        parser.add_argument("version", type=int)
    elif positional is not None:
        parser.add_argument(positional)
    parser.add_argument(
        "overrides", nargs="*", help="Hydra overrides as for `bucle run`, e.g. project=credit"
    )


def dispatch(args: argparse.Namespace) -> int:
    if args.command == "run":
        from framework.commands.run import run_with_hydra

        return run_with_hydra(args.overrides)
    if args.command == "stage":
        from framework.commands.stage import run_stage_command

        return run_stage_command(args.name, args.params)
    if args.command == "params":
        from framework.commands.stage import write_params

        return write_params(args.overrides, args.output, check=args.check)
    if args.command == "plugins":
        from framework.commands.plugins import list_plugins

        return list_plugins()
    if args.command == "init":
        from framework.commands.init import init_command

        return init_command(args.name, args.plugin)
    if args.command == "runs":
        from framework.commands import runs

        if args.action == "list":
            return runs.list_runs(args.limit, args.all, args.overrides)
        if args.action == "show":
            return runs.show_run(args.run_id, args.overrides)
        if args.action == "compare":
            return runs.compare_runs(*args.run_ids, args.overrides)
        from framework.commands.run import reproduce_run

        return reproduce_run(args.run_id)
    if args.command == "models":
        from framework.commands import models

        if args.action == "list":
            return models.list_models(args.overrides)
        if args.action == "card":
            return models.show_card(args.version, args.overrides)
        if args.action in ("promote", "rollback"):
            from framework.commands import aliases

            if args.action == "promote":
                return aliases.promote(args.version, args.alias, args.overrides)
            return aliases.rollback(args.alias, args.overrides)
        return models.show_model(args.version, args.overrides)
    if args.command == "features":
        from framework.commands import features

        if args.action == "list":
            return features.list_features()
        if args.action == "materialize":
            return features.materialize()
        return features.lookup(args.entity_ids)
    if args.command == "serve":
        from framework.commands.serve import serve

        return serve(
            args.overrides, host=args.host, port=args.port, alias=args.alias, strategy=args.strategy
        )
    if args.command == "deploy":
        from framework.commands.deploy import deploy_command

        return deploy_command(args.arguments, host=args.host, port=args.port)
    if args.command == "monitor":
        from framework.commands.monitor import monitor

        return monitor(
            args.overrides,
            since=args.since,
            last=args.last,
            fail_on_drift=args.fail_on_drift,
            url=args.url,
            output=args.output,
        )
    if args.command == "retrain":
        from framework.commands.retrain import retrain

        return retrain(args.overrides, if_needed=args.if_needed, report=args.report, url=args.url)
    if args.command == "traffic":
        from framework.commands.traffic import traffic

        return traffic(
            args.overrides,
            rows=args.rows,
            batch=args.batch,
            feedback=args.feedback,
            url=args.url,
            seed=args.seed,
        )
    if args.command == "release":
        from framework.commands.release import release

        return release(args.overrides, version=args.version, sample=args.sample, url=args.url)
    build_parser().print_help()
    return 0


def parse(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.Namespace:
    """Parse ``argv``; overrides after an option (``promote 1 --alias production project=x``)
    join the command's overrides, which argparse alone would refuse as unrecognized."""
    args, extra = parser.parse_known_args(argv)
    if extra:
        if not hasattr(args, "overrides") or any(item.startswith("-") for item in extra):
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        args.overrides = [*args.overrides, *extra]
    return args


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["run"]:
        # Everything after `run` belongs to Hydra (-m, --cfg job, overrides): argparse stays out.
        args = argparse.Namespace(command="run", overrides=argv[1:])
    else:
        args = parse(build_parser(), argv)
    try:
        return dispatch(args)
    except BucleError as error:
        print(f"bucle: error: {error}", file=sys.stderr)
        return error.exit_code
    except BrokenPipeError:
        # The reader went away (`bucle runs show ID | head`): not an error worth a traceback.
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("bucle: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
