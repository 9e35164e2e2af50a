using System.Globalization;
using ModelZoo.Core.Runs;
using ModelZoo.Core.Strategies;
using ModelZoo.Core.Training;
using ModelZoo.Infrastructure.Datasets;
using ModelZoo.Infrastructure.Runs;
using ModelZoo.Torch.Compression;
using ModelZoo.Torch.Models;
using ModelZoo.Torch.Pipeline;
using ModelZoo.Torch.Predict;
using ModelZoo.Torch.Training;
using static TorchSharp.torch;

namespace ModelZoo.Cli.Studies;

/// <summary>
/// Issue 15, compression: per seed, the house glyph ResNet-18 fine-tuned on MNIST (the source run, its model saved as
/// a run saves it), then the <c>prune</c> runs the compression endpoint launches from it
/// (<see cref="CompressionMethods.PruneRun"/>: global magnitude pruning at 0, 50, 80 and 90 %, one fine-tune epoch at
/// 0.1 × the run's rate, the zeros held), and its int8 weights (<see cref="Int8Weights"/>) against its F32 file, both
/// loaded as a user loads them and predicted on the test split. Rows: a sparsity (or int8); columns: the test accuracy
/// before, right after pruning (or quantising) and after the fine-tune.
/// </summary>
public static class PruningStudy
{
    public const int LabelsPerClass = 50, Epochs = 8, Size = 32;
    public const string Before = "before (the source run's model)", After = "right after pruning (int8: quantised), before any fine-tune", Tuned = "after 1 fine-tune epoch";
    public static readonly double[] Sparsities = [0, 0.5, 0.8, 0.9];

    public static Study Create() => new("pruning", "Compression: magnitude pruning and int8 weights of a ResNet-18 fine-tuned on MNIST",
        "What test accuracy does a fine-tuned ResNet-18 keep at 0, 50, 80 and 90 % of its conv and linear weights pruned (global, one fine-tune epoch), and with int8 weights?",
        [MnistNpmDataset.Id], [])
    {
        Custom = RunAsync,
    };

    /// <summary>As the distillation study's teacher: 32 px, 50 labels per class, 8 epochs, no augmentation.</summary>
    static RunRequest Source(int seed) => new()
    {
        ModelId = Studies.ResNet, DatasetId = MnistNpmDataset.Id, Strategy = "full-fine-tune",
        HyperParameters = new HyperParameters
        {
            Epochs = Epochs, BatchSize = 32, LearningRate = 1e-3, Seed = seed, ImageSize = Size, LabelsPerClass = LabelsPerClass, Augment = false,
        },
    };

    static Task<IReadOnlyList<StudyResult>> RunAsync(StudyContext context, int[] seeds, TextWriter output, CancellationToken ct) => Task.Run(() =>
    {
        var jobs = context.Get<TrainingJobs>();
        var trainer = context.Get<IRunTrainer>();
        var results = new List<StudyResult>();
        var inv = CultureInfo.InvariantCulture;
        foreach (var seed in seeds)
        {
            var dir = Directory.CreateTempSubdirectory("mz-prune-").FullName;
            try
            {
                void Add(string group, string arm, double accuracy, RunResult? r, IReadOnlyList<StrategyFact>? facts = null) => results.Add(new StudyResult
                {
                    Study = "pruning", Group = group, Arm = arm, Seed = seed, TestAccuracy = accuracy, MacroF1 = r?.MacroF1 ?? double.NaN,
                    BestValAccuracy = r?.BestValAccuracy ?? double.NaN, TrainSeconds = r?.TrainSeconds ?? 0, TrainExamples = r?.TrainExamples ?? 0,
                    Facts = facts ?? [], Device = trainer.Device, FinishedAt = DateTimeOffset.UtcNow,
                });

                var sourceId = Guid.NewGuid();
                var sourceJob = jobs.Prepare(sourceId, Source(seed), dir).Job with { WeightsFileName = "source.safetensors" };
                var source = trainer.Train(sourceJob, new NoProgress(), ct).Result;
                output.WriteLine($"seed {seed}: source ResNet-18 test {source.TestAccuracy.ToString("P2", inv)}, {source.TrainSeconds:0} s");
                var weights = Path.Combine(dir, "source.safetensors");
                // The worker resolves a source run from the database (SourceRuns); the study keeps it in a folder and
                // gives the prune job the record the worker would build.
                var sourceRun = new SourceRunModel(sourceId, weights, sourceJob.Model, source.ClassNames, MnistNpmDataset.Id)
                {
                    ImageSize = Size, TestAccuracy = source.TestAccuracy,
                };

                var (f32, int8) = Int8AgainstF32(sourceJob, weights, Path.Combine(dir, "source.int8.safetensors"), ct);
                output.WriteLine($"seed {seed}: F32 file {f32.ToString("P2", inv)}, int8 file {int8.ToString("P2", inv)} (loaded through Int8Weights.Dequantize)");
                Add("int8 weights (per-channel, symmetric)", Before, f32, source);
                Add("int8 weights (per-channel, symmetric)", After, int8, null);

                foreach (var sparsity in Sparsities)
                {
                    var request = CompressionMethods.PruneRun(sourceJob.Request, sourceId, sparsity, CompressionMethods.Global, 1);
                    var job = jobs.Prepare(Guid.NewGuid(), request with { SourceRunId = null }, dir).Job;
                    var r = trainer.Train(job with { Request = request, SourceRun = sourceRun, WeightsFileName = $"pruned-{sparsity:0.00}.safetensors" },
                        new NoProgress(), ct).Result;
                    var group = $"{(sparsity * 100).ToString("0", inv)} % (global)";
                    var reached = r.Values[PruneOptions.SparsityMetric];
                    output.WriteLine($"seed {seed}: pruned {group}: reached {reached.ToString("P2", inv)}; test before {r.Values[PruneOptions.AccuracyBefore].ToString("P2", inv)}, " +
                                     $"pruned {r.Values[PruneOptions.AccuracyPruned].ToString("P2", inv)}, after 1 epoch {r.TestAccuracy.ToString("P2", inv)}; {r.TrainSeconds:0} s");
                    var facts = new List<StrategyFact> { new("Sparsity reached", reached.ToString("R", inv)) };
                    facts.AddRange(r.StrategyFacts.Where(f => f.Label == "Sparsity per layer"));
                    Add(group, Before, r.Values[PruneOptions.AccuracyBefore], source);
                    Add(group, After, r.Values[PruneOptions.AccuracyPruned], null, facts);
                    Add(group, Tuned, r.TestAccuracy, r, facts);
                }
            }
            finally { Directory.Delete(dir, recursive: true); }
        }
        return (IReadOnlyList<StudyResult>)results;
    }, ct);

    /// <summary>The source run's F32 file and its int8 file, each loaded as a user loads it and predicted on the test
    /// split through the run's own evaluation pipeline.</summary>
    static (double F32, double Int8) Int8AgainstF32(TrainingJob job, string weights, string int8Path, CancellationToken ct)
    {
        Int8Weights.Save(weights, int8Path);
        var headShape = ArchitectureOptions.Of(job.Model);
        return (Accuracy(job, TrainedModel.Load(weights, headShape), ct), Accuracy(job, TrainedModel.Load(int8Path, headShape, read: Int8Weights.Dequantize), ct));
    }

    static double Accuracy(TrainingJob job, TrainedModel trained, CancellationToken ct)
    {
        using (trained)
        {
            var data = job.Data;
            using var source = BatchSources.For(job, data, trained.Architecture.Modality, trained.Model, CPU, new PipelineOptions(), ct);
            var test = data.Split.Test;
            var labels = data.Images?.Labels ?? data.Texts!.Labels;
            var (predicted, _) = Predictor.PredictAll(trained, source, test, Evaluator.BatchSize, ct);
            return test.Length == 0 ? double.NaN : (double)test.Where((index, i) => predicted[i] == labels[index]).Count() / test.Length;
        }
    }

    sealed class NoProgress : IRunProgress
    {
        public void Status(StatusChange status) { }
        public void Step(StepProgress step) { }
        public void Epoch(EpochMetrics e) { }
    }
}
