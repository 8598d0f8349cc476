#!/usr/bin/env bash
# The pipeline on several machines of a Slurm cluster, with DVC's run-cache as the hand-off:
# the same shape as .github/workflows/fanout.yml (docs/fanout.md explains both).
#
#   setup            download_prices, download_news, sentiment (every ticker), once
#   train[0..n-1]    job array, one task per entry of data.batches: prepare@<b> train@<b>
#   global           train_global (the pooled model under model.scope global, a note under ticker)
#   evaluate[0..n-1] job array: evaluate@<b> predict@<b>
#   collect          `dvc repro --pull` of everything, restoring what the others ran; commits dvc.lock
#
# Each job is a fresh clone of one commit in its own folder, runs `dvc repro --pull` for its share
# of the stages and `dvc push --run-cache` to the default DVC remote (committed in .dvc/config).
# Slurm's --dependency=afterok chains the jobs; nothing here schedules anything.
#
# Usage:
#   scripts/slurm_fanout.sh submit [--batches N] [-- SBATCH_OPTION...]   from a clone on the login node
#   scripts/slurm_fanout.sh task setup|train|global|evaluate|collect [BATCH_INDEX...]
#                                                                       what each job runs (or by hand)
# Environment:
#   FANOUT_DIR      folder every node sees (work folders, hand-offs, logs, venv);
#                   default ${SCRATCH:-$HOME}/stockpipe-fanout/<commit>
#   FANOUT_REPO     git URL or path the jobs clone; default the submitting clone's origin
#   FANOUT_COMMIT   commit the jobs check out; default HEAD of the submitting clone
#   FANOUT_VENV     an existing virtual environment with requirements.txt installed; default
#                   $FANOUT_DIR/venv, which the setup job creates
#   FANOUT_BRANCH   if set, collect pushes its commit to this branch of FANOUT_REPO
#   FANOUT_DVC_CONFIG_LOCAL  a file each job copies to its clone's .dvc/config.local (git-ignored),
#                   e.g. written by `dvc remote modify --local storage credentialpath ...`
#   FANOUT_SBATCH   extra sbatch options for every job (e.g. "--partition=gpu --time=02:00:00")
#   Remote credentials come from the environment (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or
#   GOOGLE_APPLICATION_CREDENTIALS naming a key file), which sbatch passes on to the jobs.
set -euo pipefail

die() { echo "slurm_fanout: $*" >&2; exit 1; }
log() { echo "slurm_fanout: $*" >&2; }

# ---------------------------------------------------------------------------------------------
# submit: five sbatch calls chained with afterok. A failed job cancels everything after it
# (--kill-on-invalid-dep), so a broken batch never reaches collect.
# ---------------------------------------------------------------------------------------------
submit() {
    local batches="" extra=()
    while (($#)); do
        case "$1" in
            --batches) batches="$2"; shift 2 ;;
            --) shift; extra=("$@"); break ;;
            *) die "submit: unknown option $1" ;;
        esac
    done
    command -v sbatch >/dev/null || die "sbatch not found: run this on a Slurm login node"
    FANOUT_COMMIT="${FANOUT_COMMIT:-$(git rev-parse HEAD)}"
    if [[ -z "${FANOUT_REPO:-}" ]]; then
        FANOUT_REPO=$(git remote get-url origin)
        # The jobs clone origin: the commit must be there, not only in this clone.
        git fetch --quiet origin
        [[ -n "$(git branch --remotes --contains "$FANOUT_COMMIT")" ]] ||
            die "commit $FANOUT_COMMIT is not on origin: push it first (the jobs clone $FANOUT_REPO)"
    fi
    FANOUT_DIR="${FANOUT_DIR:-${SCRATCH:-$HOME}/stockpipe-fanout/$FANOUT_COMMIT}"
    if [[ -z "$batches" ]]; then
        # data.batches of the commit the jobs will run (not of the working tree).
        local python=python3
        [[ -n "${FANOUT_VENV:-}" && -x "$FANOUT_VENV/bin/python" ]] && python="$FANOUT_VENV/bin/python"
        batches=$(git show "$FANOUT_COMMIT:params.yaml" |
            "$python" -c 'import sys, yaml; print(len(yaml.safe_load(sys.stdin)["data"]["batches"]))') ||
            die "cannot read data.batches from params.yaml at $FANOUT_COMMIT (no PyYAML?): pass --batches N"
    fi
    [[ "$batches" =~ ^[1-9][0-9]*$ ]] || die "--batches must be a positive number, not '$batches'"
    mkdir -p "$FANOUT_DIR/logs"
    export FANOUT_COMMIT FANOUT_REPO FANOUT_DIR
    [[ -n "${FANOUT_VENV:-}" ]] && export FANOUT_VENV

    local script common setup train global evaluate collect
    script=$(realpath "${BASH_SOURCE[0]}")
    # shellcheck disable=SC2206  # FANOUT_SBATCH is a list of options, split on purpose
    common=(--parsable --export=ALL --kill-on-invalid-dep=yes ${FANOUT_SBATCH:-} "${extra[@]}")
    local one=(--output="$FANOUT_DIR/logs/%x-%j.out") many=(--output="$FANOUT_DIR/logs/%x-%A_%a.out")
    setup=$(sbatch "${common[@]}" "${one[@]}" --job-name=stockpipe-setup "$script" task setup)
    setup=${setup%%;*}
    train=$(sbatch "${common[@]}" "${many[@]}" --job-name=stockpipe-train --array="0-$((batches - 1))" \
        --dependency="afterok:$setup" "$script" task train)
    train=${train%%;*}
    global=$(sbatch "${common[@]}" "${one[@]}" --job-name=stockpipe-global \
        --dependency="afterok:$train" "$script" task global)
    global=${global%%;*}
    evaluate=$(sbatch "${common[@]}" "${many[@]}" --job-name=stockpipe-evaluate --array="0-$((batches - 1))" \
        --dependency="afterok:$global" "$script" task evaluate)
    evaluate=${evaluate%%;*}
    collect=$(sbatch "${common[@]}" "${one[@]}" --job-name=stockpipe-collect \
        --dependency="afterok:$evaluate" "$script" task collect)
    collect=${collect%%;*}
    echo "commit $FANOUT_COMMIT, $batches batches, folder $FANOUT_DIR"
    echo "setup $setup -> train $train (array 0-$((batches - 1))) -> global $global -> evaluate $evaluate -> collect $collect"
}

# ---------------------------------------------------------------------------------------------
# task: what one job runs.
# ---------------------------------------------------------------------------------------------

# A fresh clone of FANOUT_COMMIT in $FANOUT_DIR/work/<name>, the current directory from then on.
checkout() {
    local work="$FANOUT_DIR/work/$1"
    rm -rf "$work"
    mkdir -p "$(dirname "$work")"
    git clone --quiet --no-checkout "$FANOUT_REPO" "$work"
    git -C "$work" checkout --quiet --detach "$FANOUT_COMMIT"
    # Per-user remote settings (credentialpath, profile) for a clone, which has no .dvc/config.local.
    if [[ -n "${FANOUT_DVC_CONFIG_LOCAL:-}" ]]; then
        cp "$FANOUT_DVC_CONFIG_LOCAL" "$work/.dvc/config.local"
    fi
    cd "$work"
}

# The venv: FANOUT_VENV if given, else $FANOUT_DIR/venv, created by the setup job with the
# Makefile's recipe (.venv/.installed) plus the DVC plugin of the default remote.
use_venv() {
    local create="${1:-}"
    FANOUT_VENV="${FANOUT_VENV:-$FANOUT_DIR/venv}"
    if [[ ! -e "$FANOUT_VENV/.installed" && ! -x "$FANOUT_VENV/bin/dvc" ]]; then
        [[ "$create" == create ]] || die "no virtual environment at $FANOUT_VENV (the setup job makes it)"
        log "creating $FANOUT_VENV"
        python3 -m venv "$FANOUT_VENV"
        "$FANOUT_VENV/bin/python" -m pip install --quiet --upgrade pip
        "$FANOUT_VENV/bin/python" -m pip install --quiet -r requirements.txt
        local url version
        url=$("$FANOUT_VENV/bin/dvc" config "remote.$("$FANOUT_VENV/bin/dvc" remote default).url")
        version=$("$FANOUT_VENV/bin/dvc" --version)
        case "$url" in
            s3://*) "$FANOUT_VENV/bin/python" -m pip install --quiet "dvc[s3]==$version" ;;
            gs://*) "$FANOUT_VENV/bin/python" -m pip install --quiet "dvc[gs]==$version" ;;
        esac
        touch "$FANOUT_VENV/.installed"
    fi
    # Stage commands call `python`: the venv's bin first on PATH (as the Makefile's RUN does).
    export PATH="$FANOUT_VENV/bin:$PATH" DVC_NO_ANALYTICS=1
}

# The git side of a job's result: dvc.lock and every output DVC keeps in git (cache: false), which
# `dvc push` does not send. The next jobs unpack it over their clone, so that `dvc repro --pull`
# finds these stages unchanged and pulls their cached outputs instead of running them again.
save_handoff() {
    mkdir -p "$FANOUT_DIR/handoff"
    git ls-files -z --modified --others --exclude-standard |
        tar --null --files-from=- -cf "$FANOUT_DIR/handoff/$1.tar.tmp"
    mv "$FANOUT_DIR/handoff/$1.tar.tmp" "$FANOUT_DIR/handoff/$1.tar"
}

load_handoff() {
    [[ -f "$FANOUT_DIR/handoff/$1.tar" ]] || die "no hand-off $FANOUT_DIR/handoff/$1.tar (did the $1 job succeed?)"
    tar -xf "$FANOUT_DIR/handoff/$1.tar"
}

# Entries of data.batches at the given positions (array task ids), one a line.
batch_items() {
    python - "$@" <<'EOF'
import sys
import yaml
batches = yaml.safe_load(open("params.yaml"))["data"]["batches"]
for index in sys.argv[1:]:
    if not 0 <= int(index) < len(batches):
        sys.exit(f"batch index {index}: data.batches has {len(batches)} entries")
    print(batches[int(index)])
EOF
}

task() {
    local phase="${1:?task: setup|train|global|evaluate|collect}"
    shift
    : "${FANOUT_DIR:?}" "${FANOUT_REPO:?}" "${FANOUT_COMMIT:?}"
    local items=() item targets=()
    case "$phase" in
        setup)
            checkout setup
            use_venv create
            # An always-changed refresh stage would download newer prices in every job, and the
            # batches would each train on other data.
            python -c 'import sys, yaml; sys.exit(1 if yaml.safe_load(open("params.yaml"))["data"]["refresh"] else 0)' ||
                die "data.refresh is set: pin the prices (data.refresh: [], data.end a date) to fan out"
            targets=(download_prices download_news sentiment)
            dvc repro --pull "${targets[@]}"
            dvc push --run-cache "${targets[@]}"
            save_handoff setup
            ;;
        train | evaluate)
            local indices=("$@")
            ((${#indices[@]})) || indices=("${SLURM_ARRAY_TASK_ID:?not in a job array: give the batch index}")
            checkout "$phase-$(IFS=-; echo "${indices[*]}")"
            use_venv
            mapfile -t items < <(batch_items "${indices[@]}")
            ((${#items[@]} == ${#indices[@]})) || die "cannot map batch indices ${indices[*]} to data.batches"
            if [[ "$phase" == train ]]; then
                load_handoff setup
                for item in "${items[@]}"; do targets+=("prepare@$item" "train@$item"); done
            else
                # train@<b>, upstream, comes back from the run-cache that its train job pushed.
                load_handoff global
                for item in "${items[@]}"; do targets+=("evaluate@$item" "predict@$item"); done
            fi
            # Plain --pull: the stages upstream that the hand-off's dvc.lock shows unchanged are
            # pulled whole before the targets are checked. Not --allow-missing or --single-item: with
            # either, DVC takes a missing input inside an upstream stage's folder output (such as
            # data/raw/prices/batch_<b>.parquet) for unchanged, and skips the stage or pulls the
            # outputs that the commit's own dvc.lock names, made from other data.
            dvc repro --pull "${targets[@]}"
            dvc push --run-cache "${targets[@]}"
            ;;
        global)
            checkout global
            use_venv
            load_handoff setup
            # prepare@* run here again: their records name a cache: false metric that `dvc push`
            # does not send, so they cannot come back from the run-cache on another machine.
            dvc repro --pull train_global
            dvc push --run-cache prepare train_global   # prepare: every prepare@<b> (the foreach group)
            save_handoff global
            ;;
        collect)
            checkout collect
            use_venv
            load_handoff global
            dvc repro --pull 2>&1 | tee "$FANOUT_DIR/collect.log"
            # Every model comes from a train job; one trained here means its run never reached the
            # remote (or a stage upstream gave other bytes on this machine): say so, commit nothing.
            if grep -E "^Running stage '(train@|train_global)" "$FANOUT_DIR/collect.log"; then
                die "collect trained a model that a train or global job should have pushed; nothing committed"
            fi
            dvc push --run-cache
            git add -A
            if git diff --cached --quiet; then
                log "dvc.lock and the metrics are already the commit's: nothing to commit"
            else
                git -c user.name="$(git config user.name || echo 'stockpipe fanout')" \
                    -c user.email="$(git config user.email || echo 'stockpipe-fanout@localhost')" \
                    commit --quiet -m "Fan-out run of $FANOUT_COMMIT: dvc.lock and metrics"
                log "committed $(git rev-parse HEAD) in $PWD"
                if [[ -n "${FANOUT_BRANCH:-}" ]]; then
                    git push --quiet origin "HEAD:refs/heads/$FANOUT_BRANCH"
                    log "pushed to $FANOUT_BRANCH of $FANOUT_REPO"
                fi
            fi
            ;;
        *) die "task: unknown phase '$phase' (setup|train|global|evaluate|collect)" ;;
    esac
}

case "${1:-}" in
    submit) shift; submit "$@" ;;
    task) shift; task "$@" ;;
    *) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d'; exit 2 ;;
esac
