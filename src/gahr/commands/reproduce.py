"""`gahr reproduce`: list the paper's results, check which can run here, run one."""

from ._common import print_json


def register(sub) -> None:
    p = sub.add_parser("reproduce", help="one command per figure/table of the paper",
                       description="`--list` names each result of the paper the toolkit covers "
                       "with its commands, preset, the data it needs and expected run time at "
                       "each scale; "
                       "`--check` says which can run here and why not; `NAME --scale cpu` runs "
                       "one (every step resumes, so a rerun continues).")
    p.add_argument("name", nargs="?", help="the result to reproduce (see --list)")
    p.add_argument("--scale", choices=("cpu", "paper"), default=None,
                   help="cpu: minutes to hours on a laptop; paper: the paper's sizes (GPU, CelebA)")
    p.add_argument("--list", action="store_true", help="list the results and their recipes")
    p.add_argument("--check", action="store_true",
                   help="say which recipes can run here (commands, presets, data present)")
    p.add_argument("--json", action="store_true", help="with --list/--check: print JSON")
    p.add_argument("--markdown", action="store_true",
                   help="with --list: print the README's reproduction table")
    p.add_argument("--dry-run", action="store_true", help="print the commands, run nothing")
    p.set_defaults(func=run)


def _print_list(rows) -> None:
    for row in rows:
        print(f"{row['name']} [--scale {row['scale']}]: {row['paper']}")
        print(f"    preset {row['preset']}; time: CPU {row['cpu_time']}, GPU {row['gpu_time']}")
        print(f"    data: {row['data']}")
        for command in row["commands"]:
            print(f"    $ {command}")


def run(args) -> int:
    from ..errors import GahrError
    from ..workflows import reproduce as rep

    scales = (args.scale,) if args.scale else rep.SCALES
    if args.list or args.check:
        if args.check:
            rows = [r for r in rep.check_rows(args.cli) if r["scale"] in scales]
        else:
            rows = rep.list_rows(scales)
        if args.json:
            print_json(rows)
        elif args.markdown and args.list:
            print(rep.markdown_table(scales))
        elif args.list:
            _print_list(rows)
        else:
            for r in rows:
                print(f"{r['name']} --scale {r['scale']}: "
                      + ("ready" if r["ready"] else "not ready: " + "; ".join(r["problems"])))
        return 0
    if not args.name or not args.scale:
        if args.name:
            rep.find(args.name)  # an unknown name is the first thing to say
        raise GahrError("name a result and a scale, e.g. `gahr reproduce memorization-grid "
                        "--scale cpu`; `gahr reproduce --list` names them")
    if args.dry_run:
        for command in rep.find(args.name).recipe(args.scale).commands():
            print(command)
        return 0
    return rep.reproduce(args.name, args.scale)
