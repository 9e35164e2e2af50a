using System.Globalization;
using System.Text.Json.Nodes;
using ModelZoo.Core.Runs;
using ModelZoo.Core.Training;
using ModelZoo.Infrastructure.Datasets;
using ModelZoo.Infrastructure.Runs;

namespace ModelZoo.Cli.Studies;

/// <summary>
/// Issue 15: a glyph-pretrained ResNet-18 fine-tuned on MNIST (the teacher) distils into the glyph-pretrained
/// MobileNetV2 (a fifth of its parameters), against the same MobileNetV2 fine-tuned on the labels alone with the same
/// budget. Per seed: the teacher run (saved, as the portal saves a run's model), then both students. The distilled run
/// measures the teacher beside itself (accuracy on the same test split, sizes, batch-1 CPU latency interleaved) and
/// the study prints those numbers and keeps them in the results' facts.
/// </summary>
public static class DistillationStudy
{
    public const int LabelsPerClass = 50, Epochs = 8, Size = 32;
    public const string Group = "MNIST, 50 labels/class";

    public static Study Create() => new("distillation", "Distillation: a ResNet-18 teacher and a MobileNetV2 student on MNIST",
        "How much of a fine-tuned ResNet-18's accuracy does a MobileNetV2 keep when the ResNet teaches it, against the MobileNetV2 fine-tuned alone, and what does it save?",
        [MnistNpmDataset.Id], [])
    {
        Custom = RunAsync,
    };

    /// <summary>The portal's defaults except: 32 px (the house weights' size), a 50-label budget and 8 epochs so the
    /// study takes minutes on a CPU, and no augmentation (the same for all three arms).</summary>
    static RunRequest Request(string model, string strategy, int seed, JsonObject? options = null) => new()
    {
        ModelId = model, DatasetId = MnistNpmDataset.Id, Strategy = strategy, Options = options,
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
            var dir = Directory.CreateTempSubdirectory("mz-distill-").FullName;
            try
            {
                StudyResult Train(string arm, TrainingJob job)
                {
                    var outcome = trainer.Train(job, new NoProgress(), ct);
                    var r = outcome.Result;
                    output.WriteLine($"{Group} | {arm} | seed {seed}: test {r.TestAccuracy.ToString("P2", inv)}, {r.TotalParameters.ToString("N0", inv)} parameters, " +
                                     $"weights file {r.TrainedWeights?.Bytes.ToString("N0", inv)} bytes, {r.TrainSeconds:0} s");
                    if (r.Teacher is { } t)
                        output.WriteLine($"  teacher on the same test split {t.TeacherTestAccuracy.ToString("P2", inv)}, agreement {t.Agreement.ToString("P2", inv)}; " +
                                         $"latency (batch 1, {t.LatencyDevice}, median of {t.LatencyRepeats}, interleaved): teacher {t.TeacherLatencyMs:0.00} ms, student {t.StudentLatencyMs:0.00} ms; " +
                                         $"teacher file {t.TeacherWeightsBytes.ToString("N0", inv)} bytes");
                    var facts = r.StrategyFacts.ToList();
                    if (r.TrainedWeights is { } w) facts.Add(new StrategyFact("Weights file bytes", w.Bytes.ToString(inv)));
                    facts.Add(new StrategyFact("Total parameters", r.TotalParameters.ToString(inv)));
                    if (r.Teacher is { } c)
                    {
                        facts.Add(new StrategyFact("Teacher latency ms", c.TeacherLatencyMs.ToString("R", inv)));
                        facts.Add(new StrategyFact("Student latency ms", c.StudentLatencyMs.ToString("R", inv)));
                        facts.Add(new StrategyFact("Teacher weights file bytes", c.TeacherWeightsBytes.ToString(inv)));
                    }
                    var result = new StudyResult
                    {
                        Study = "distillation", Group = Group, Arm = arm, Seed = seed, TestAccuracy = r.TestAccuracy, MacroF1 = r.MacroF1,
                        Ece = r.Calibration?.Ece, BestValAccuracy = r.BestValAccuracy, TrainSeconds = r.TrainSeconds, ExamplesPerSecond = r.ExamplesPerSecond,
                        TrainExamples = r.TrainExamples, Facts = facts, Device = outcome.Device, FinishedAt = DateTimeOffset.UtcNow,
                    };
                    results.Add(result);
                    return result;
                }

                var teacherId = Guid.NewGuid();
                var teacherJob = jobs.Prepare(teacherId, Request(Studies.ResNet, "full-fine-tune", seed), dir).Job with { WeightsFileName = "teacher.safetensors" };
                var teacherRun = trainer.Train(teacherJob, new NoProgress(), ct).Result;
                output.WriteLine($"{Group} | teacher ResNet-18 | seed {seed}: test {teacherRun.TestAccuracy.ToString("P2", inv)}");
                results.Add(new StudyResult
                {
                    Study = "distillation", Group = Group, Arm = "teacher: ResNet-18, full fine-tune", Seed = seed, TestAccuracy = teacherRun.TestAccuracy,
                    MacroF1 = teacherRun.MacroF1, BestValAccuracy = teacherRun.BestValAccuracy, TrainSeconds = teacherRun.TrainSeconds,
                    TrainExamples = teacherRun.TrainExamples, Device = trainer.Device, FinishedAt = DateTimeOffset.UtcNow,
                    Facts = [new("Total parameters", teacherRun.TotalParameters.ToString(inv)), new("Weights file bytes", teacherRun.TrainedWeights!.Bytes.ToString(inv))],
                });
                // The worker resolves a teacher from the database (SourceRuns); the study holds its teacher in a folder,
                // so the student job gets the same record the worker would build.
                var source = new SourceRunModel(teacherId, Path.Combine(dir, "teacher.safetensors"), teacherJob.Model, teacherRun.ClassNames, MnistNpmDataset.Id)
                {
                    ImageSize = Size, TestAccuracy = teacherRun.TestAccuracy,
                };
                var distilled = jobs.Prepare(Guid.NewGuid(), Request(Studies.MobileNet, "distillation", seed), dir).Job;
                Train("student: MobileNetV2, distilled (T 4, α 0.9)", distilled with
                {
                    Request = distilled.Request with { SourceRunId = teacherId }, SourceRun = source, WeightsFileName = "distilled.safetensors",
                });
                Train("student: MobileNetV2, full fine-tune alone",
                    jobs.Prepare(Guid.NewGuid(), Request(Studies.MobileNet, "full-fine-tune", seed), dir).Job with { WeightsFileName = "alone.safetensors" });
            }
            finally { Directory.Delete(dir, recursive: true); }
        }
        return (IReadOnlyList<StudyResult>)results;
    }, ct);

    sealed class NoProgress : IRunProgress
    {
        public void Status(StatusChange status) { }
        public void Step(StepProgress step) { }
        public void Epoch(EpochMetrics e) { }
    }
}
