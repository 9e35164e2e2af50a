#!/usr/bin/env bash
# Issue 15's compression numbers (docs/benchmarks.md, "Issue 15: compression"): one real run on the CPU, then int8
# and magnitude pruning at 0, 50, 80 and 90 % through the portal's API, each measured on the run's test split.
#   docs/guides/compression-benchmark.sh [data-dir] [port]
# Needs: dotnet build src/ModelZoo.Web src/ModelZoo.Cli -c Release; jq; curl. Fetches optdigits once (apt-get download).
set -euo pipefail
DATA=${1:-/tmp/modelzoo-compression}
PORT=${2:-5177}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
API=http://127.0.0.1:$PORT/api
mkdir -p "$DATA"
[ -d "$DATA/datasets/optdigits" ] || dotnet "$ROOT/src/ModelZoo.Cli/bin/Release/net10.0/linux-x64/modelzoo.dll" datasets fetch optdigits --data-dir "$DATA"

Storage__DataDir=$DATA Storage__ZooDir=$ROOT/zoo Datasets__FetchOnStartup=false Auth__Mode=None \
  dotnet "$ROOT/src/ModelZoo.Web/bin/Release/net10.0/linux-x64/ModelZoo.Web.dll" --urls "http://127.0.0.1:$PORT" --contentRoot "$ROOT/src/ModelZoo.Web" \
  > "$DATA/portal.log" 2>&1 &
PORTAL=$!
trap 'kill $PORTAL' EXIT
until curl -sf "http://127.0.0.1:$PORT/healthz" > /dev/null; do sleep 1; done

RUN=$(curl -sf -H 'content-type: application/json' "$API/runs" -d '{
  "modelId": "resnet18.glyphs_house", "datasetId": "optdigits", "strategy": "full-fine-tune",
  "hyperParameters": {"epochs": 3, "batchSize": 64, "imageSize": 32, "seed": 1}}' | jq -r .id)
echo "run $RUN"
until [ "$(curl -sf "$API/runs/$RUN" | jq -r .status)" != Queued ] && [ "$(curl -sf "$API/runs/$RUN" | jq -r .status)" != Running ]; do sleep 5; done
curl -sf "$API/runs/$RUN" | jq -c '{status, testAccuracy: .result.testAccuracy, testExamples: .result.testExamples, trainSeconds: .result.trainSeconds, weights: .result.trainedWeights}'

compress() {
  curl -sf -H 'content-type: application/json' "$API/runs/$RUN/compressions" -d "$1" | jq -c '{method, sparsity, scope, fineTuneEpochs,
    before: .accuracyBefore, pruned: .accuracyPruned, after: .accuracyAfter, bytesBefore, bytesAfter, achieved: .achievedSparsity,
    minLayer: ([.layers[].sparsity] | min), maxLayer: ([.layers[].sparsity] | max), losses: .fineTuneLosses, seconds}'
}
# Pruning answers 202 with a queued run of the prune strategy; wait for it and print what its result measured.
prune() {
  local id
  id=$(curl -sf -H 'content-type: application/json' "$API/runs/$RUN/compressions" -d "$1" | jq -r .runId)
  until [ "$(curl -sf "$API/runs/$id" | jq -r .status)" != Queued ] && [ "$(curl -sf "$API/runs/$id" | jq -r .status)" != Running ]; do sleep 5; done
  curl -sf "$API/runs/$id" | jq -c --arg req "$1" '{request: ($req | fromjson), run: .id, status, before: .result.values.test_acc_before_pruning,
    pruned: .result.values.test_acc_pruned, after: .result.testAccuracy, achieved: .result.values.sparsity,
    minLayer: ([.result.values | to_entries[] | select(.key | startswith("sparsity/")) | .value] | min),
    maxLayer: ([.result.values | to_entries[] | select(.key | startswith("sparsity/")) | .value] | max),
    bytes: .result.trainedWeights.bytes, seconds: .result.trainSeconds}'
}
compress '{"method": "int8"}'
for s in 0 0.5 0.8 0.9; do
  prune "{\"method\": \"prune\", \"sparsity\": $s, \"scope\": \"global\", \"fineTuneEpochs\": 1}"
  prune "{\"method\": \"prune\", \"sparsity\": $s, \"scope\": \"layer\", \"fineTuneEpochs\": 1}"
done
echo "int8 file: $DATA/runs/$RUN/compressions/"
