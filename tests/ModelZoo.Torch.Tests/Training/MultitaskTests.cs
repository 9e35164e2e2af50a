using System.Text.Json.Nodes;
using ModelZoo.Core.Datasets;
using ModelZoo.Core.Runs;
using ModelZoo.Core.Strategies;
using ModelZoo.Core.Training;
using ModelZoo.Torch.Models;
using ModelZoo.Torch.Predict;
using ModelZoo.Torch.Training;
using ModelZoo.Torch.Weights;

namespace ModelZoo.Torch.Tests.Training;

[Collection(TorchGlobalRngCollection.Name)]
public class MultitaskTests
{
    /// <summary>Three classes of 8x8 images: horizontal stripes, vertical stripes, flat grey, with noise.</summary>
    internal static LoadedDataset Patterns(int perClass = 40)
    {
        var rng = new Random(7);
        int n = perClass * 3, side = 8;
        var pixels = new byte[n * side * side];
        var labels = new int[n];
        for (int i = 0; i < n; i++)
        {
            labels[i] = i % 3;
            for (int y = 0; y < side; y++)
                for (int x = 0; x < side; x++)
                {
                    var on = labels[i] switch { 0 => y % 2 == 0, 1 => x % 2 == 0, _ => false };
                    pixels[i * side * side + y * side + x] = (byte)Math.Clamp((labels[i] == 2 ? 128 : on ? 220 : 30) + rng.Next(-20, 21), 0, 255);
                }
        }
        var info = new DatasetInfo { Id = "patterns", Title = "Patterns", ClassNames = ["horizontal", "vertical", "flat"], Examples = n, Width = side, Height = side, Channels = 1 };
        var images = new ImageSet { Width = side, Height = side, Channels = 1, Pixels = pixels, Labels = labels, ClassNames = info.ClassNames };
        return new LoadedDataset(info, images, StratifiedSplitter.Split(labels, 3, 0.2, 0.2));
    }

    static TrainingJob Job(HyperParameters h, JsonObject? options = null, string? outDir = null) =>
        TrainerTests.Job(h, "multitask", options) with
        {
            Request = TrainerTests.Job(h, "multitask", options).Request with { TaskDatasetIds = ["patterns"] },
            Tasks = [Patterns()],
            OutputDir = outDir ?? Path.GetTempPath(),
        };

    [Fact]
    public void TwoTasks_LearnTogether_EachWithItsOwnHead_AndEveryTaskIsReported()
    {
        var dir = Directory.CreateTempSubdirectory("multitask-").FullName;
        try
        {
            var progress = new TestRuns.Recorder();
            var h = new HyperParameters { Epochs = 4, BatchSize = 16, LearningRate = 3e-3, ImageSize = 16, Seed = 3, Augment = false };
            var job = Job(h, outDir: dir) with { WeightsFileName = "mt.safetensors" };
            var outcome = new Trainer(ArchitectureRegistry.Default).Train(job, progress, CancellationToken.None);

            var tasks = outcome.Result.Tasks;
            tasks.Select(t => t.DatasetId).ShouldBe(["dark-bright", "patterns"]);
            tasks[0].TestAccuracy.ShouldBe(outcome.Result.TestAccuracy, "task 1 is the run's own result");
            tasks[0].ClassNames.Count.ShouldBe(2);
            tasks[1].ClassNames.Count.ShouldBe(3);
            tasks[1].TestExamples.ShouldBe(24);
            // Both tasks learnt: far above chance (1/2 and 1/3) after four short epochs from random weights.
            tasks[0].TestAccuracy.ShouldBeGreaterThan(0.8);
            tasks[1].TestAccuracy.ShouldBeGreaterThan(0.6);

            // An epoch is one pass over task 1 (72 training examples) in its half of each 16-example batch.
            progress.Steps.Count.ShouldBe(4 * (72 / 8));
            progress.Steps.ShouldAllBe(s => s.Values.ContainsKey("task1_loss") && s.Values.ContainsKey("task2_loss"));
            progress.Epochs.ShouldAllBe(e => e.Values.ContainsKey("task2_val_acc"));
            outcome.Result.StrategyFacts.ShouldContain(f => f.Label == "Tasks");

            // The weights file carries the second head beside the model; loading the model alone skips it.
            var path = Path.Combine(dir, "mt.safetensors");
            SafeTensors.ReadMetadata(path).ContainsKey("modelzoo.tasks").ShouldBeTrue();
            var tensors = WeightsFile.Load(path);
            try
            {
                tensors["tasks.heads.0.weight"].shape.ShouldBe([3L, 512L]);
                tensors["fc.weight"].shape.ShouldBe([2L, 512L]);
            }
            finally { foreach (var t in tensors.Values) t.Dispose(); }
            using var trained = TrainedModel.Load(path, ArchitectureOptions.Of(job.Model));
            trained.Model.NumClasses.ShouldBe(2);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void UncertaintyWeighting_LearnsAWeightPerTask()
    {
        var progress = new TestRuns.Recorder();
        var h = new HyperParameters { Epochs = 2, BatchSize = 16, LearningRate = 3e-2, ImageSize = 16, Seed = 4, Augment = false };
        new Trainer(ArchitectureRegistry.Default).Train(Job(h, new JsonObject { ["lossWeighting"] = "Uncertainty" }), progress, CancellationToken.None);
        progress.Steps[0].Values["task1_weight"].ShouldBe(1.0, 1e-6, "s starts at 0");
        // The log-variances learn: after some steps the weights have moved away from 1.
        Math.Abs(progress.Steps[^1].Values["task1_weight"] - 1.0).ShouldBeGreaterThan(1e-3);
        Math.Abs(progress.Steps[^1].Values["task2_weight"] - progress.Steps[^1].Values["task1_weight"]).ShouldBeGreaterThan(1e-6);
    }

    [Fact]
    public void BatchSizes_SplitTheBatch_AndAddUp()
    {
        new MultitaskOptions().BatchSizes(16, [72, 72]).ShouldBe([8, 8]);
        new MultitaskOptions { Sampling = TaskSampling.Proportional }.BatchSizes(30, [100, 200]).ShouldBe([10, 20]);
        new MultitaskOptions { Sampling = TaskSampling.Custom, Task1Share = 3, Task2Share = 1 }.BatchSizes(16, [5, 5]).ShouldBe([12, 4]);
        new MultitaskOptions { Sampling = TaskSampling.Proportional }.BatchSizes(4, [1000, 1, 1]).ShouldAllBe(x => x >= 1);
        new MultitaskOptions().BatchSizes(7, [10, 10, 10]).Sum().ShouldBe(7);
    }
}
