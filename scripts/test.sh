#!/usr/bin/env bash
# Builds (warnings are errors) and runs every test project; TRX results land in TestResults/.
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet build Prism.sln -c Release -warnaserror -nologo -v q
dotnet test Prism.sln -c Release --no-build -nologo \
    --logger "trx" --results-directory TestResults -- xunit.parallelizeTestCollections=true
