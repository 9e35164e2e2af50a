using System.CommandLine;
using System.Globalization;
using ModelZoo.Cli.Studies;
using ModelZoo.Core.Recommender;
using ModelZoo.Infrastructure.Recommender;

namespace ModelZoo.Cli.Recommender;

/// <summary>
/// <c>modelzoo recommend &lt;dataset&gt; [--examples-per-class 20] [--image-size 0] [--budget-ms] [--seed 1] [--data-dir .data]
/// [--against docs/studies/recommender.jsonl]</c>: the portal's backbone recommender, headless. With <c>--against</c> it
/// also reads full fine-tunes of the same backbones on the dataset from a study's results (group = dataset, arm =
/// catalogue entry, as the <c>recommender</c> study writes them) and prints Spearman's ρ between the probe's accuracies
/// and the fine-tunes' mean test accuracies: how far the probe's ranking can be trusted (docs/benchmarks.md).
/// </summary>
public static class RecommendCommand
{
    static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static Command Create()
    {
        var dataset = new Argument<string>("dataset") { Description = "A dataset id in the data folder." };
        var perClass = new Option<int>("--examples-per-class") { Description = "Training examples per class for the probe (as many are scored).", DefaultValueFactory = _ => 20 };
        var imageSize = new Option<int>("--image-size") { Description = "Input side in pixels; 0: each model's own.", DefaultValueFactory = _ => 0 };
        var budget = new Option<double?>("--budget-ms") { Description = "Latency budget in ms at batch 1 (latency measured in the portal)." };
        var seed = new Option<int>("--seed") { DefaultValueFactory = _ => 1 };
        var dataDir = new Option<DirectoryInfo>("--data-dir") { Description = "The portal's data folder (Storage:DataDir).", DefaultValueFactory = _ => new DirectoryInfo(".data") };
        var against = new Option<FileInfo?>("--against") { Description = "A study's results (JSON lines) with full fine-tunes to correlate the probe's ranking with." };
        var threads = new Option<int>("--threads") { Description = "Intra-op threads (0 = one per core).", DefaultValueFactory = _ => 0 };

        var command = new Command("recommend", "Probe every backbone with weights on this machine for a dataset and rank them.")
            { dataset, perClass, imageSize, budget, seed, dataDir, against, threads };
        command.SetAction(async (r, ct) =>
        {
            var output = r.InvocationConfiguration.Output;
            using var context = new StudyContext(r.GetRequiredValue(dataDir).FullName, r.GetValue(threads));
            // The latencies are read from the portal's database: bring its schema up to date, as the portal does at start.
            await ModelZoo.Infrastructure.DependencyInjection.MigrateZooDatabaseAsync(context.Services, ct);
            var recommender = context.Get<BackboneRecommender>();
            var request = new RecommendRequest
            {
                DatasetId = r.GetRequiredValue(dataset), ExamplesPerClass = r.GetValue(perClass), ImageSize = r.GetValue(imageSize),
                LatencyBudgetMs = r.GetValue(budget), Seed = r.GetValue(seed),
            };
            if (recommender.Check(request) is { Count: > 0 } errors)
            {
                foreach (var (key, message) in errors) r.InvocationConfiguration.Error.WriteLine($"error: {key}: {message}");
                return ExitCodes.BadInput;
            }
            var result = recommender.RunNow(request, ct);
            output.WriteLine($"{result.Message} ({result.Device}; report {result.Id})");
            output.WriteLine("| Rank | Backbone | Probe accuracy | Latency (ms, batch 1) | Parameters | Pareto |");
            output.WriteLine("| --- | --- | --- | --- | --- | --- |");
            foreach (var s in result.Scores)
                output.WriteLine($"| {s.Rank?.ToString(Inv) ?? "–"} | {s.ModelId} | {(s.Probe is { } p ? (p.Accuracy * 100).ToString("0.00", Inv) + " %" : s.Error)} | " +
                                 $"{s.LatencyMs?.ToString("0.0", Inv) ?? "not measured"} | {s.Parameters:N0} | {(s.OnParetoFront ? "front" : "")} |");
            foreach (var n in result.Notes) output.WriteLine(n);
            if (r.GetValue(against) is { } file) Correlate(result, file.FullName, output);
            return result.State == RecommendationState.Succeeded ? ExitCodes.Ok : ExitCodes.Failed;
        });
        return command;
    }

    static void Correlate(Recommendation result, string path, TextWriter output)
    {
        var runs = StudyRunner.Read(path).Where(x => x.Group == result.Request.DatasetId).GroupBy(x => x.Arm)
            .ToDictionary(g => g.Key, g => (Mean: g.Average(x => x.TestAccuracy), Seeds: g.Count()));
        var pairs = result.Scores.Where(s => s.Probe is not null && runs.ContainsKey(s.ModelId))
            .Select(s => (s.ModelId, Probe: s.Probe!.Accuracy, FineTune: runs[s.ModelId].Mean, runs[s.ModelId].Seeds)).ToList();
        output.WriteLine();
        output.WriteLine($"Against full fine-tunes on {result.Request.DatasetId} ({path}):");
        output.WriteLine("| Backbone | Probe accuracy | Probe rank | Fine-tune accuracy (seeds) | Fine-tune rank |");
        output.WriteLine("| --- | --- | --- | --- | --- |");
        var probeRanks = BackboneRanking.Ranks(pairs.Select(p => -p.Probe).ToList());
        var tuneRanks = BackboneRanking.Ranks(pairs.Select(p => -p.FineTune).ToList());
        for (int i = 0; i < pairs.Count; i++)
            output.WriteLine($"| {pairs[i].ModelId} | {pairs[i].Probe * 100:0.00} % | {probeRanks[i]:0.#} | {pairs[i].FineTune * 100:0.00} % ({pairs[i].Seeds}) | {tuneRanks[i]:0.#} |");
        var rho = BackboneRanking.Spearman(pairs.Select(p => p.Probe).ToList(), pairs.Select(p => p.FineTune).ToList());
        output.WriteLine(rho is { } v
            ? $"Spearman's rho over {pairs.Count} backbones: {v.ToString("0.000", Inv)}"
            : $"Spearman's rho: not defined for these {pairs.Count} backbones (fewer than 3, or one side constant).");
    }
}
