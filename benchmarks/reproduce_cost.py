"""What `trustbook reproduce` costs at a scale: per run and in total, the wall time and peak memory that each run's
`results.json` recorded (from `runs/`, else the snapshots in `figures/runs/`), against the issue's goal.

    python benchmarks/reproduce_cost.py                 # cpu scale, goal 45 minutes
    python benchmarks/reproduce_cost.py --scale smoke

The times are those of the runs as they were made: runs made side by side (`--jobs 2`, or several lanes) each saw
less than a whole core, so their sum over-states what one run after another would take; `--jobs N` divides the
wall-clock total by about N on N free cores. Runs missing or stale (code changed since) are listed, not counted.
"""
import argparse
from trustbook.papers import load_registry
from trustbook.params import resolve_params
from trustbook.inputs import run_inputs_hash
from trustbook.report import collect_results


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--scale', default='cpu')
    ap.add_argument('--goal-min', type=float, default=45.0, help='the wall-time goal for the whole scale, minutes')
    ap.add_argument('--cores', type=int, default=2, help='cores to divide the single-lane total by')
    a = ap.parse_args()
    results = {(r['paper'], r['experiment']): r for r in collect_results() if r.get('scale') == a.scale}
    total, peak, missing = 0.0, 0.0, []
    print(f"{'paper/experiment':45s} {'wall s':>8s} {'peak MB':>8s}")
    for paper in load_registry().values():
        per_paper = 0.0
        for e in paper.experiments:
            r = results.get((paper.name, e.name))
            if a.scale not in e.scales or r is None: missing.append(f'{paper.name}/{e.name} (no run)'); continue
            if r.get('inputs_hash') != run_inputs_hash(e, resolve_params(e, a.scale, r.get('seed', 0)), r.get('processes', 1)):
                missing.append(f'{paper.name}/{e.name} (stale)'); continue
            per_paper += r['wall_time_s']; peak = max(peak, r['peak_memory_mb'])
            print(f"{paper.name + '/' + e.name:45s} {r['wall_time_s']:8.0f} {r['peak_memory_mb']:8.0f}")
        print(f"{'  = ' + paper.name:45s} {per_paper:8.0f}")
        total += per_paper
    print(f"\nsum of run times: {total/60:.1f} min (one lane); about {total/60/a.cores:.1f} min wall with --jobs {a.cores} "
          f"on {a.cores} free cores; goal {a.goal_min:.0f} min; peak memory of one run {peak:.0f} MB")
    if missing: print('not counted:', ', '.join(missing))


if __name__ == '__main__': main()
