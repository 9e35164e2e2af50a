using System.Text.Json.Nodes;
using ModelZoo.Core.Runs;
using ModelZoo.Core.Training;
using ModelZoo.Torch.Models;
using ModelZoo.Torch.Training;

namespace ModelZoo.Torch.Tests.Training;

[Collection(TorchGlobalRngCollection.Name)]
public class ContinualTests
{
    static TrainingJob Job(HyperParameters h, JsonObject options, string? dir = null)
    {
        var job = TrainerTests.Job(h, "continual", options);
        return job with
        {
            Request = job.Request with { TaskDatasetIds = ["patterns"] },
            Tasks = [MultitaskTests.Patterns()],
            OutputDir = dir ?? job.OutputDir,
        };
    }

    static readonly HyperParameters Short = new() { Epochs = 2, BatchSize = 16, LearningRate = 3e-3, ImageSize = 16, Seed = 11, Augment = false };

    [Theory]
    [InlineData("FineTune")]
    [InlineData("LwF")]
    [InlineData("Ewc")]
    public void TwoTasksInSequence_FillTheAccuracyMatrix_RowByRow(string method)
    {
        var progress = new TestRuns.Recorder();
        var outcome = new Trainer(ArchitectureRegistry.Default).Train(Job(Short, new JsonObject { ["method"] = method }), progress, CancellationToken.None);

        // Two tasks × 2 epochs; the first two epochs train task 1 (72 examples), the last two task 2 (72 examples).
        progress.Epochs.Count.ShouldBe(4);
        progress.Epochs.Select(e => e.Values["task"]).ShouldBe([1, 1, 2, 2]);
        progress.Steps.Count.ShouldBe(4 * (72 / 16 + 1));
        // A row of the matrix when each task ends, and only then.
        progress.Epochs.Select(e => e.Values.ContainsKey("acc_t1")).ShouldBe([false, true, false, true]);
        progress.Epochs[1].Values.ContainsKey("acc_t2").ShouldBeFalse("task 2 is not learnt yet");
        progress.Epochs[3].Values.ContainsKey("acc_t2").ShouldBeTrue();

        var matrix = outcome.Result.TaskMatrix.ShouldNotBeNull();
        matrix.Tasks.ShouldBe(["dark-bright", "patterns"]);
        matrix.Accuracy.Count.ShouldBe(2);
        matrix.Accuracy[0][1].ShouldBeNull();
        matrix.Accuracy[0][0]!.Value.ShouldBe(progress.Epochs[1].Values["acc_t1"], 1e-6);
        matrix.Accuracy[1][0]!.Value.ShouldBe(outcome.Result.TestAccuracy, 1e-6, "the run's own test is task 1 after the whole sequence");
        matrix.AverageForgetting.ShouldNotBeNull();
        outcome.Result.Tasks.Select(t => t.DatasetId).ShouldBe(["dark-bright", "patterns"]);
        outcome.Result.Tasks[1].TestAccuracy.ShouldBe(matrix.Accuracy[1][1]!.Value, 1e-6);
        // Task 1 was learnt before task 2 began.
        matrix.Accuracy[0][0]!.Value.ShouldBeGreaterThan(0.8);
        if (method == "LwF") progress.Steps.Skip(10).ShouldAllBe(s => s.Values.ContainsKey("lwf_loss"));
        if (method == "Ewc") progress.Steps.Skip(10).ShouldAllBe(s => s.Values.ContainsKey("ewc_penalty"));
        if (method == "FineTune") progress.Steps.ShouldAllBe(s => !s.Values.ContainsKey("lwf_loss") && !s.Values.ContainsKey("ewc_penalty"));
    }

    [Fact]
    public void TheFirstTasksHead_DoesNotMove_WhileTheSecondIsLearnt()
    {
        // AdamW's momentum and weight decay would keep moving a head that no longer gets gradients; the strategy puts
        // earlier heads back before every step. The checkpoint after epoch 2 holds task 1's head as its task ended.
        var dir = Directory.CreateTempSubdirectory("continual-").FullName;
        try
        {
            float[]? endOfTask1 = null;
            var progress = new TestRuns.Recorder(onEpoch: e =>
            {
                if (e.Epoch != 3) return;
                var saved = ModelZoo.Torch.Weights.SafeTensors.Load(Path.Combine(dir, CheckpointFiles.Directory, CheckpointFiles.Tensors));
                try { endOfTask1 = saved["model.fc.weight"].data<float>().ToArray(); }
                finally { foreach (var t in saved.Values) t.Dispose(); }
            });
            var job = Job(Short, new JsonObject { ["method"] = "FineTune" }, dir) with { WeightsFileName = "c.safetensors", Checkpoint = true };
            new Trainer(ArchitectureRegistry.Default).Train(job, progress, CancellationToken.None);
            var final = ModelZoo.Torch.Weights.WeightsFile.Load(Path.Combine(dir, "c.safetensors"));
            try
            {
                final.ContainsKey("tasks.heads.0.weight").ShouldBeTrue();
                endOfTask1.ShouldNotBeNull();
                final["fc.weight"].data<float>().ToArray().ShouldBe(endOfTask1);
            }
            finally { foreach (var t in final.Values) t.Dispose(); }
        }
        finally { Directory.Delete(dir, true); }
    }
}
