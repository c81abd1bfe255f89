"""Command line of the analysis package: ``python3 -m brink_analysis`` or ``brink-analysis``.

``discover FILE --outcome full_war``  PRIM scenario discovery, feature scores, CART (``--cart``)
``robust FILE... --levers PATH,...``  robustness table of the policies of a levers × uncertainties design

Bad input (a missing or foreign file, an unknown outcome or parameter) gets
one sentence on stderr and exit code 2, as with brink itself.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from .checks import figure_file

EXIT_OK, EXIT_USAGE = 0, 2


def _names(text: str | None, option: str) -> list[str] | None:
    """The comma-separated names of `option` (None if not given or blank: the default), an empty
    one among others refused as name_list refuses it: "a,,b" or "," is a slip, not a shorter list."""
    from .checks import name_list

    return name_list(text, option, split=True) if text and text.strip() else None


def _parser() -> argparse.ArgumentParser:
    from ._version import __version__

    parser = argparse.ArgumentParser(prog="brink-analysis", description="Exploratory analysis of brink result files.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("discover", help="PRIM scenario discovery and feature scores on a sweep file",
                       description="Finds the parameter ranges (a PRIM box) where OUTCOME is frequent, and "
                       "scores how much each swept parameter matters.")
    d.add_argument("file", help="a brink result file of a sweep")
    d.add_argument("--outcome", default="full_war", help="outcome, or several joined by commas (default full_war)")
    d.add_argument("--parameters", help="comma-separated parameter paths (default: the swept ones)")
    d.add_argument("--per", choices=["point", "replication"], default="point",
                   help="cases: per-point probabilities (default) or per-replication outcomes")
    d.add_argument("--weight", choices=["point", "replication"], default="point",
                   help="what counts once: every point (default), or every replication (an adaptive run's points "
                   "then weigh their replications)")
    d.add_argument("--threshold", type=float,
                   help="cases of interest: points with P(outcome) >= THRESHOLD (with --per point only)")
    d.add_argument("--alpha", type=float, default=0.05, help="share peeled per step (default 0.05)")
    d.add_argument("--min-mass", type=float, default=0.05, help="smallest box, as a share of the cases (default 0.05)")
    d.add_argument("--box", type=int,
                   help="box of the trajectory to report (default: best coverage/density balance; not with "
                   "--min-coverage)")
    d.add_argument("--min-coverage", type=float,
                   help="report the densest box with at least this coverage (not with --box)")
    d.add_argument("--no-paste", action="store_true", help="report the peeled box without pasting")
    d.add_argument("--permutations", type=int, default=100,
                   help="shuffles of the outcomes for the permutation test of the box and of CART's densest leaf "
                   "(default 100, one PRIM run each: seconds for a few hundred points; 0 skips the test)")
    d.add_argument("--cart", action="store_true", help="also print the leaves of a CART tree")
    d.add_argument("--depth", type=int, default=3, help="depth of the CART tree (default 3)")
    d.add_argument("--no-scores", action="store_true", help="skip the feature scores (scikit-learn)")
    d.add_argument("--plots", help="folder to write prim-tradeoff.png, prim-box.png and outcome-scatter.png into")
    d.add_argument("--overwrite", action="store_true", help="replace the figures of --plots if the folder has them")
    r = sub.add_parser("robust", help="robustness of policies in a levers × uncertainties design",
                       description="Ranks policies (combinations of lever values) by maximum regret over the "
                       "states of the world (the other parameters).")
    r.add_argument("files", nargs="+", help="brink result files: one grid, or one file per policy of the same design")
    r.add_argument("--levers", help="comma-separated lever parameter paths (default: those a mixed design recorded)")
    r.add_argument("--outcome", default="full_war", help="outcome, or several joined by commas (default full_war)")
    r.add_argument("--threshold", type=float, default=0.1, help="satisficing threshold (default 0.1)")
    r.add_argument("--direction", choices=["minimize", "maximize"], default="minimize",
                   help="minimize (default: the outcome is bad) or maximize its probability")
    r.add_argument("--plot", help="file for the robustness plot: .png (added to a name without a suffix), .pdf or .svg")
    r.add_argument("--overwrite", action="store_true", help="replace the --plot file if it exists")
    return parser


def _open(path: str):
    from .io import open_results, shard_of

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an unfinished file is reported below, not as a traceback
        ds = open_results(path)
    shard = shard_of(ds)
    if shard is not None:
        print(f"note: '{path}' is shard {shard[0]} of {shard[1]} and holds only its own points; join the shards "
              "with brink merge to analyse the whole sweep", file=sys.stderr)
    if int(ds.attrs.get("complete", 0)) != 1:
        print(f"note: '{path}' is incomplete; only its finished points are used", file=sys.stderr)
    return ds


def _writable_place(path: Path, option: str) -> None:
    """Refuses `path` (a file or folder to make) if its nearest existing ancestor is no folder we may write in."""
    ancestor = path.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise ValueError(f"{option} '{path}' cannot be written: '{ancestor}' is a file, not a folder")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise ValueError(f"{option} '{path}' cannot be written: no permission to write in '{ancestor}'")


# The figures discover --plots writes, in the order it writes them.
DISCOVERY_FIGURES = ("prim-tradeoff.png", "prim-box.png", "outcome-scatter.png")


def _check_plots_folder(folder: str, overwrite: bool) -> None:
    """--plots names a folder that exists or can be made, and holds none of the figures it would
    get unless --overwrite (checked before any report is printed)."""
    path = Path(folder)
    if path.exists() and not path.is_dir():
        raise ValueError(f"--plots must be a folder; '{folder}' is a file")
    if path.is_dir():
        if not os.access(path, os.W_OK | os.X_OK):
            raise ValueError(f"--plots '{folder}' cannot be written: no permission to write in it")
        for name in DISCOVERY_FIGURES:
            figure_file(path / name, "--plots", overwrite=overwrite, how="give --overwrite")
        return
    _writable_place(path, "--plots")


def _check_plot_file(name: str, overwrite: bool) -> None:
    """--plot names a figure file (.png, added to a name without a suffix, .pdf or .svg) that can be
    written, and that does not exist unless --overwrite."""
    path = figure_file(name, "--plot", overwrite=overwrite, how="give --overwrite")
    if path.exists() and not os.access(path, os.W_OK):
        raise ValueError(f"--plot '{path}' cannot be written: no permission to replace it")
    _writable_place(path, "--plot")


def _discover(args) -> int:
    from .checks import positive_int, probability, share
    from .discovery import cart_boxes, check_threshold_per, discovery_data, feature_scores, outcome_names
    from .prim import prim, threshold_cases

    # Arguments checked before any output, so that a bad one is not reported after the PRIM report.
    if args.plots:
        _check_plots_folder(args.plots, args.overwrite)
    for option, value in (("--threshold", args.threshold), ("--min-coverage", args.min_coverage)):
        if value is not None:
            probability(value, option)
    check_threshold_per(args.threshold, args.per, "--threshold", "--per")
    if args.box is not None and args.min_coverage is not None:
        raise ValueError("--box and --min-coverage both choose the box to report: give one of them")
    positive_int(args.permutations, "--permutations", minimum=0)
    if args.cart:
        positive_int(args.depth, "--depth")
        share(args.min_mass, "--min-mass with --cart (scikit-learn's smallest leaf)", 0.0, 0.5, high_inclusive=True)
    with _open(args.file) as ds:
        X, y, w = discovery_data(ds, args.outcome, _names(args.parameters, "--parameters"), args.per,
                                 args.weight)
        outcome = ",".join(outcome_names(ds, args.outcome))
        result = prim(X, y, w, alpha=args.alpha, min_mass=args.min_mass, threshold=args.threshold,
                      units=X.attrs["units"], outcome=outcome)
        # --threshold makes the cases 0/1 for PRIM, each point of weight 1; the header, the scores and
        # CART use the same cases and weights.
        if args.threshold is not None:
            y, w = threshold_cases(y, w, args.threshold)
        index = args.box if args.box is not None else result.select(min_coverage=args.min_coverage)
        box = result.box(index, paste=not args.no_paste)
        t = result.trajectory
        mean = np.average(y, weights=w)
        shown_y = (f"share of cases of interest (P({outcome}) >= {args.threshold:g}) {mean:.4f}"
                   if args.threshold is not None else f"mean outcome {mean:.4f}")
        repeated = X.attrs.get("repeated")
        sets = (f"; its {repeated[1]} finished points hold {repeated[0]} distinct parameter sets, each counted once"
                if repeated else "")
        print(f"{args.file}: PRIM for {result.outcome} over {', '.join(X.columns)} "
              f"({len(y)} cases, one per {args.per}, weight {w.sum():.0f}, {shown_y}{sets})")
        shown = sorted(set(np.linspace(0, len(t) - 1, min(len(t), 10)).round().astype(int)) | {index})
        print("\npeeling trajectory (every box: --box I)")
        print(t.loc[shown].to_string(float_format=lambda v: f"{v:.4f}"))
        print(f"\nbox {index}{'' if args.no_paste else ' after pasting'}: coverage {box.coverage:.4f}, "
              f"density {box.density:.4f}, mass {box.mass:.4f}")
        limits = result.inspect(index, paste=not args.no_paste)  # the limits and each one's quasi-p-value
        print(limits.to_string(float_format=lambda v: f"{v:.6g}", formatters={"qp": _qp_text})
              if len(limits) else "(no parameter restricted)")
        if len(limits):
            print(_qp_note(limits, args.threshold))
        if args.permutations:
            significance = result.significance(args.box, paste=not args.no_paste, min_coverage=args.min_coverage,
                                               permutations=args.permutations)
            print(significance)
        if not args.no_scores:
            _print_scores(feature_scores, X, y, w)
        if args.cart:
            print(f"\nCART leaves (depth {args.depth}), densest first")
            leaves = cart_boxes(X, y, w, max_depth=args.depth, min_mass=args.min_mass,
                                permutations=args.permutations)
            with pd.option_context("display.max_colwidth", None):
                print(leaves.to_string(float_format=lambda v: f"{v:.4f}"))
            print(_cart_note(leaves))
        if args.plots:
            _discovery_plots(ds, result, index, box, list(X.columns), args)
    return EXIT_OK


def _qp_note(limits: pd.DataFrame, threshold: float | None) -> str:
    """The footnote under discover's table of limits: what qp is, in the words of the cases' kind."""
    note = ("(qp is per restriction and not corrected for the search: peeling picked each limit as the best of many "
            "slices, on the same points, so a small qp does not make the box real; the permutation test below "
            "accounts for the search")
    if threshold is not None:
        note += ("; with 0/1 cases (--threshold) qp is the EMA Workbench's binomial qp, optimistic for that reason "
                 "(on pure noise a quarter of the restrictions get qp < 0.05)")
    if (limits["qp"] > 0.05).any():
        note += ("; qp > 0.05: the design's points cannot tell that restriction from chance at this design size, "
                 "which does not show that the parameter does not matter"
                 + ("" if threshold is not None else " (with probabilities qp errs on the large side)")
                 + ": weigh it with the feature scores, or run more points")
    return note + "; see docs/analysis.md, PRIM)"


def _cart_note(leaves: pd.DataFrame) -> str:
    """The line under discover's CART leaves: the densest leaf's permutation test, or the caution without it."""
    test = leaves.attrs.get("significance")
    if test is None:
        return ("(the leaves were chosen on the same points: a dense leaf is no evidence by itself; --permutations "
                "tests the densest one)")
    p, shuffles = test
    verdict = ("distinguishable from chance at the 5% level" if p <= 0.05 else
               "NOT distinguishable from chance: trees fitted to shuffled outcomes grow leaves as dense")
    return (f"(densest leaf: permutation test p = {p:.3g} over {shuffles} trees fitted to the outcomes shuffled "
            f"across the points: {verdict})")


# Below this a quasi-p-value is at or near the smallest double (the binomial tail underflows to 0 or
# to a subnormal number of few digits): it is printed as a bound, never as 0.
_SMALLEST_QP = 1e-300


def _qp_text(value: float) -> str:
    """A qp as discover prints it: ``3.35e-10``, or ``<1e-300`` where it underflows."""
    return f"<{_SMALLEST_QP:g}" if 0 <= value < _SMALLEST_QP else f"{value:.6g}"


def _print_scores(feature_scores, X, y, w) -> None:
    """The feature-score table and the extra-trees model's out-of-sample R², or why there is none
    (every case of interest, say), after PRIM's report."""
    from .discovery import NO_FIT_R2

    try:
        import sklearn.ensemble  # noqa: F401  (the extra-trees model; PRIM and CART need no scikit-learn)
    except ImportError:  # a missing optional package, not a failed run: PRIM's report stands
        print("note: feature scores skipped: they need scikit-learn, which is not installed (python3-sklearn); "
              "--no-scores leaves them out without this note", file=sys.stderr)
        return
    print("\nfeature scores")
    try:
        scores = feature_scores(X, y, w)
    except ValueError as error:  # the cases are valid (PRIM used them): there is only nothing to explain
        print(f"(none: {error})")
        return
    print(scores.to_string(float_format=lambda v: f"{v:.4f}"))
    r2 = scores.attrs.get("extra_trees_r2", float("nan"))
    fit = ("not computed: fewer than 5 points" if np.isnan(r2) else
           f"{r2:.4f}" + (" (no fit: the extra_trees importances rank nothing)" if r2 <= NO_FIT_R2 else ""))
    print(f"extra-trees out-of-sample R² (5-fold cross-validated): {fit}")


def _discovery_plots(ds, result, index, box, names, args) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from .explore_plots import plot_outcome_scatter, plot_prim_box, plot_prim_tradeoff
    from .plots import caption, save_figure

    def save(ax, path):  # each figure says which file, seed and replications it was drawn from
        caption(ax, ds, file=args.file)
        return save_figure(ax, path, overwrite=args.overwrite)

    folder = Path(args.plots)
    folder.mkdir(parents=True, exist_ok=True)
    tradeoff, prim_box, scatter = (folder / name for name in DISCOVERY_FIGURES)
    written = [save(plot_prim_tradeoff(result, index), tradeoff),
               save(plot_prim_box(box, all_parameters=not box.restricted, ds=ds), prim_box)]
    shown = (box.restricted + [n for n in names if n not in box.restricted])[:2]
    if len(shown) == 2:
        written.append(save(plot_outcome_scatter(ds, shown[0], shown[1], args.outcome, box=box), scatter))
    print("\nwrote " + ", ".join(str(p) for p in written))


def _robust(args) -> int:
    from .robust import design_roles, robustness_table

    from .checks import probability

    probability(args.threshold, "--threshold")
    if args.plot:
        _check_plot_file(args.plot, args.overwrite)
    seen = {}
    for name in args.files:
        first = seen.setdefault(os.path.realpath(name), name)
        if first is not name:
            again = "is given twice" if first == name else f"is the file '{first}' again"
            raise ValueError(f"'{name}' {again}: give each policy's file once")
    datasets = []
    try:
        for name in args.files:
            datasets.append(_open(name))
    except BaseException:
        for ds in datasets:
            ds.close()
        raise
    try:
        levers = _names(args.levers, "--levers")
        if levers is None and design_roles(datasets) is None:  # the library's message names its own argument
            raise ValueError(f"no --levers given and {'the files record' if len(datasets) > 1 else 'the file records'} "
                             "none (a mixed design's file has the attribute 'levers'): pass --levers PATH,...")
        table = robustness_table(datasets if len(datasets) > 1 else datasets[0], levers, args.outcome,
                                 threshold=args.threshold, direction=args.direction)
        incomplete = table.attrs.get("incomplete")
        of = f" (of the design's {incomplete[1]}: the others lack results of some policy)" if incomplete else ""
        print(f"robustness of {len(table)} policies for P({args.outcome}) over {int(table['states'].iloc[0])} states "
              f"of the world{of} ({args.direction}, satisficing threshold {args.threshold:g}), most robust first")
        print(table.to_string(float_format=lambda v: f"{v:.4f}"))
        noise = table.attrs.get("regret_noise")
        if noise is not None:
            print(f"regret noise: policies identical in every state would show a max_regret up to {noise:.4f} "
                  "(Monte Carlo noise alone); a max_regret below it cannot be told from noise")
        elif len(table) > 1:
            print("regret noise: not estimated (the files hold no per-replication outcomes: --summary-only); "
                  "whether the gaps between the max_regrets are more than Monte Carlo noise is unknown: compare the "
                  "ranking with a run of another --seed, or run without --summary-only")
        share = table.attrs.get("leader_share")
        if share is not None:
            print(f"ranking stability: the first policy has the smallest max_regret in {share:.0%} of the paired "
                  "bootstrap resamples of the replications (below 95%, the data cannot tell which policy is most "
                  "robust)")
        if args.plot:
            import matplotlib

            matplotlib.use("Agg")
            from .explore_plots import plot_robustness
            from .plots import save_figure

            with warnings.catch_warnings():  # the table's notes (noise, unfinished files) were printed once already
                warnings.simplefilter("ignore", RuntimeWarning)
                fig = plot_robustness(datasets if len(datasets) > 1 else datasets[0], levers, args.outcome,
                                      threshold=args.threshold, direction=args.direction)
            print(f"wrote {save_figure(fig, args.plot, overwrite=args.overwrite)}")
    finally:
        for ds in datasets:
            ds.close()
    return EXIT_OK


def _os_error_text(error: OSError, args) -> str:
    """One sentence for an OSError: the file it names, else the input files (h5py names none)."""
    if error.filename:
        return f"cannot write or read '{error.filename}': {error.strerror or error}"
    files = [args.file] if args.command == "discover" else args.files
    return f"cannot read {', '.join(repr(f) for f in files)}: is it damaged? ({' '.join(str(error).split())})"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python3 -m brink_analysis`` and of the ``brink-analysis`` console script."""
    args = _parser().parse_args(argv)
    try:
        with warnings.catch_warnings():
            # A warning of the package (one policy, every case of interest) is a note to the reader.
            warnings.showwarning = lambda message, *rest, **kw: print(f"note: {message}", file=sys.stderr)
            return _discover(args) if args.command == "discover" else _robust(args)
    except (ValueError, FileNotFoundError, FileExistsError, KeyError) as e:
        print(f"brink-analysis {args.command}: {e}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # the reader stopped early (| head): not an error worth a traceback, nor a damaged file
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except OSError as e:  # a damaged chunk read lazily (h5py), or a plot that cannot be written
        print(f"brink-analysis {args.command}: {_os_error_text(e, args)}", file=sys.stderr)
        return EXIT_USAGE
