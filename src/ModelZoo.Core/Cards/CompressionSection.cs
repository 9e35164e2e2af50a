using System.Globalization;
using System.Text;
using ModelZoo.Core.Runs;

namespace ModelZoo.Core.Cards;

/// <summary>The card's "Compression" section, generated from the run's stored compression results: each one's
/// accuracy on the test split before and after, file sizes, what the pruned layers hold, and what a user needs to load
/// the file. No speed is claimed: int8 weights are dequantised to F32 before inference, and zeros stored densely are
/// multiplied like any other weight, so neither is faster here.</summary>
public static class CompressionSection
{
    public const string Heading = "## Compression";

    public static string? Of(IReadOnlyList<CompressionResult> results)
    {
        if (results.Count == 0) return null;
        var c = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.Append(Heading).Append("\n\n");
        sb.Append("Measured by ModelZoo on the run's test split, prepared as the run's evaluation prepared it. Speed was not measured: ")
          .Append("the int8 file is dequantised to F32 to run, and pruned weights are stored and multiplied as zeros.\n\n");
        sb.Append("| method | accuracy F32 | accuracy after | change | file F32 | file after | loading |\n|---|---|---|---|---|---|---|\n");
        foreach (var r in results)
        {
            var method = r.Method == CompressionMethods.Int8 ? "int8 weights (per-channel, symmetric)"
                : $"magnitude pruning {r.Sparsity?.ToString("P0", c)} ({r.Scope}), {r.FineTuneEpochs} fine-tune epoch{(r.FineTuneEpochs == 1 ? "" : "s")}; " +
                  $"achieved {r.AchievedSparsity?.ToString("P1", c)}" + (r.AccuracyPruned is { } p ? $", {Pct(p)} before the fine-tune" : "");
            sb.Append(c, $"| {method} | {Pct(r.AccuracyBefore)} | {Pct(r.AccuracyAfter)} | {(r.AccuracyAfter - r.AccuracyBefore) * 100:+0.00;-0.00;0.00} pt | ")
              .Append(c, $"{Mb(r.BytesBefore)} | {Mb(r.BytesAfter)} | {(r.Method == CompressionMethods.Int8 ? "needs the int8 loader" : "as the F32 file")} |\n");
        }
        sb.Append('\n').Append(results.Any(r => r.Method == CompressionMethods.Int8)
            ? "The int8 file needs custom code to load: each int8 weight `<key>` has F32 scales `<key>.scale` (one per output channel); " +
              "weight = int8 × scale. ModelZoo ships the loader as `docs/loaders/load_int8_safetensors.py`.\n"
            : "");
        return sb.ToString();

        string Pct(double v) => (v * 100).ToString("0.00", c) + " %";
        string Mb(long b) => (b / 1e6).ToString("0.00", c) + " MB";
    }
}
