#!/usr/bin/env bash
# Builds (warnings are errors), checks formatting against .editorconfig, and runs every test project; TRX results
# land in TestResults/.
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet build Prism.sln -c Release -warnaserror -nologo -v q
dotnet format Prism.sln --verify-no-changes --no-restore
dotnet test Prism.sln -c Release --no-build -nologo \
    --logger "trx" --results-directory TestResults -- xunit.parallelizeTestCollections=true
