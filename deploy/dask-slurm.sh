#!/usr/bin/env bash
# A chunkflow run on Slurm through Dask: this small job runs the Dask scheduler and `chunkflow run`;
# dask-jobqueue submits the worker jobs (sbatch) itself, retries failed boxes and reports them by box.
#
#   sbatch deploy/dask-slurm.sh
#
# Workers run the same environment: CHUNKFLOW may be a venv's chunkflow or the image through Apptainer
# ("apptainer exec docker://REGISTRY/chunkflow:cpu chunkflow"; use --nv and chunkflow:cuda for GPUs).
# The job script dask-jobqueue submits for the workers: chunkflow.jobs.dask_executor.jobqueue_cluster(...).job_script()
#SBATCH --job-name=chunkflow-dask
#SBATCH --cpus-per-task=2
#SBATCH --mem=8G
#SBATCH --time=24:00:00
#SBATCH --output=chunkflow-dask-%j.log
set -euo pipefail
CHUNKFLOW=${CHUNKFLOW:-chunkflow}
: "${INPUT_VOLUME:?set INPUT_VOLUME}" "${OUTPUT_VOLUME:?set OUTPUT_VOLUME}" "${MODEL:?set MODEL}"
DONE=${DONE:-${OUTPUT_VOLUME#file://}/.done/}

# 20 jobs x 2 worker processes; each GPU job advertises GPU=1 per worker so one inference box runs per GPU
# shellcheck disable=SC2086
exec $CHUNKFLOW run --cluster slurm --jobs 20 --workers 2 --cores 8 --memory 64GiB --walltime 08:00:00 \
    --queue "${PARTITION:-gpu}" ${ACCOUNT:+--account "$ACCOUNT"} --job-extra "--gres=gpu:2" --gpus-per-worker 1 \
    --retries 2 -- \
  generate-tasks -v "$INPUT_VOLUME" -c 64 512 512 -a 64 512 512 \
  skip-task-by-file -p "$DONE" \
  load-precomputed -v "$INPUT_VOLUME" --expand-margin-size 4 64 64 \
  inference --convnet-model "$MODEL" --input-patch-size 20 256 256 --num-output-channels 3 --output-crop-margin 4 64 64 \
  save-precomputed -v "$OUTPUT_VOLUME" \
  mark-complete -p "$DONE"
