"""`gahr report DIR`: render DIR/report.html again from DIR/report.json and the saved figures."""


def register(sub) -> None:
    p = sub.add_parser("report", help="rebuild DIR/report.html from saved numbers and figures",
                       description="Render DIR/report.html from DIR/report.json (written by gahr "
                       "demo, experiments and analyses) and the PNGs it lists, without "
                       "recomputing anything. A missing PNG is drawn again from the .npz data "
                       "saved beside it; --redraw draws every such figure again.")
    p.add_argument("dir", help="the run dir holding report.json")
    p.add_argument("--redraw", action="store_true",
                   help="draw every figure again from its saved .npz data, not just missing ones")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..report import build_report, load_manifest

    page, drawn = build_report(args.dir, redraw=args.redraw)
    manifest = load_manifest(args.dir)
    n_figs = sum(len(s.get("figures", [])) for s in manifest["sections"])
    print(f"{page}: {len(manifest['sections'])} sections, {n_figs} figures "
          f"({drawn} redrawn from saved data)")
    return 0
