#!/usr/bin/env bash
# Run chunkflow workers as a Slurm array: each array task is one worker draining the same queue.
#
#   sbatch --array=0-99 deploy/slurm-worker.sh sqs://my-queue
#
# Workers exit 0 once the queue has been empty for --retry-times polls, so the array finishes
# when the work does. Hybrid runs are fine: cloud workers may consume the same queue at once.
#
# Preemption and the time limit: Slurm sends SIGTERM (--signal below: 30 s before the time limit; on
# preemption, the partition's GraceTime before SIGKILL: set it to at least 30 s). The worker, exec'ed
# so that it is the batch shell and receives the signal itself, fetches no more, finishes its task
# within --grace seconds or gives it back to the queue at once, and exits 143. `sbatch --requeue`
# puts a preempted worker back in line.
#SBATCH --job-name=chunkflow-worker
#SBATCH --cpus-per-task=4
#SBATCH --mem=16G
#SBATCH --time=24:00:00
#SBATCH --output=chunkflow-worker-%A_%a.log
#SBATCH --signal=B:TERM@30
set -euo pipefail
QUEUE=${1:?usage: sbatch --array=0-N deploy/slurm-worker.sh QUEUE}
# Point at the project's virtualenv (make test / make demo create it), or run the image with Apptainer:
#   CHUNKFLOW="apptainer exec docker://REGISTRY/chunkflow:cpu chunkflow" sbatch --array=0-99 deploy/slurm-worker.sh Q
#   (GPU nodes: apptainer exec --nv docker://REGISTRY/chunkflow:cuda chunkflow)
CHUNKFLOW=${CHUNKFLOW:-chunkflow}

# shellcheck disable=SC2086
exec $CHUNKFLOW --log-level info \
  fetch-task --queue-name "$QUEUE" --visibility-timeout 1800 --retry-times 30 --grace 25 \
  load-precomputed --volume-path "${INPUT_VOLUME:?set INPUT_VOLUME}" --expand-margin-size 4 64 64 \
  inference --convnet-model "${MODEL:?set MODEL}" --input-patch-size 20 256 256 --num-output-channels 3 \
            --output-crop-margin 4 64 64 \
  save-precomputed --volume-path "${OUTPUT_VOLUME:?set OUTPUT_VOLUME}" \
  delete-task-in-queue

# Without a queue, a task file and the array index do the same (no AWS needed):
#   chunkflow generate-tasks -v "$INPUT_VOLUME" -c 64 512 512 -f tasks.txt
#   sbatch --array=0-$(( $(wc -l < tasks.txt) - 1 )) --wrap \
#     "chunkflow fetch-task-from-file -f tasks.txt load-precomputed -v $INPUT_VOLUME ... save-precomputed -v $OUTPUT_VOLUME"
