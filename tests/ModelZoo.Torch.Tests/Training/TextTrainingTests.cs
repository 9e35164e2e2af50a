using ModelZoo.Core.Runs;
using ModelZoo.Core.Training;
using ModelZoo.Torch.Models;
using ModelZoo.Torch.Training;
using Xunit.Abstractions;

namespace ModelZoo.Torch.Tests.Training;

/// <summary>A real (tiny) BERT trained end to end through the trainer's text path: tokenizer, batcher, loop.</summary>
[Collection(TorchGlobalRngCollection.Name)]
public sealed class TextTrainingTests(ITestOutputHelper output) : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("modelzoo-text-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    TrainingJob Job(HyperParameters h, string strategy, int maxLength = 64) => TinyBert.Job(_dir, h, strategy, maxLength: maxLength);


    [Fact]
    public void FullFineTune_OfATinyBert_LearnsToTellSportsFromCooking()
    {
        var progress = new TestRuns.Recorder();
        var job = Job(new HyperParameters { Epochs = 6, BatchSize = 16, LearningRate = 5e-3, Seed = 7, MaxTokens = 64 }, "full-fine-tune");
        var outcome = new Trainer(ArchitectureRegistry.Default).Train(job, progress, CancellationToken.None);

        foreach (var e in progress.Epochs) output.WriteLine($"epoch {e.Epoch}: train loss {e.TrainLoss:F4}, val accuracy {e.ValAccuracy:F3}");
        output.WriteLine($"test accuracy {outcome.Result.TestAccuracy:F3}");
        // 48 test texts, two balanced classes: chance is 0.5.
        outcome.Result.TestExamples.ShouldBe(48);
        outcome.Result.TestAccuracy.ShouldBeGreaterThan(0.9);
        progress.Epochs.Last().TrainLoss.ShouldBeLessThan(progress.Epochs.First().TrainLoss);
        outcome.Result.TrainableParameters.ShouldBe(outcome.Result.TotalParameters);
        outcome.Result.ClassNames.ShouldBe(["sports", "cooking"]);
    }

    [Fact]
    public void Trainer_UsesTheConfigFile_ForTheModelItBuilds()
    {
        var job = Job(new HyperParameters { Epochs = 1, BatchSize = 32, LearningRate = 1e-3, Seed = 1, TrainLimit = 32 }, "feature-extraction");
        var outcome = new Trainer(ArchitectureRegistry.Default).Train(job, new TestRuns.Recorder(), CancellationToken.None);
        // Feature extraction trains the pooler-free classifier only: 48 features x 2 classes + 2 biases.
        outcome.Result.TrainableParameters.ShouldBe(48 * 2 + 2);
        outcome.Result.TotalParameters.ShouldBeLessThan(200_000, "a 3 x 48 BERT, not bert-base's 110 M");
    }

    [Fact]
    public void Trainer_RefusesAVocabularyLargerThanTheModelsEmbeddingTable()
    {
        var job = Job(new HyperParameters { Epochs = 1, BatchSize = 16, Seed = 1 }, "full-fine-tune");
        TinyBert.WriteConfig(_dir, vocabSize: 10);
        var e = Should.Throw<InvalidOperationException>(() => new Trainer(ArchitectureRegistry.Default).Train(job, new TestRuns.Recorder(), CancellationToken.None));
        e.Message.ShouldContain("vocab_size 10");
        e.Message.ShouldContain("vocab.txt");
    }

    [Fact]
    public void AMaskedLmEntry_SavesTheClassifierItTrained_WhichLoadsStrictlyFromTheFileAlone_AndGivesTheSameLogits()
    {
        var job = Job(new HyperParameters { Epochs = 1, BatchSize = 32, LearningRate = 1e-3, Seed = 1, TrainLimit = 64 }, "full-fine-tune");
        job = job with { Model = job.Model with { Id = "bert_mlm.test", Architecture = "bert_mlm" }, WeightsFileName = "run.safetensors" };
        using var ids = TorchSharp.torch.tensor(new long[,] { { 2, 10, 11, 12, 3 }, { 2, 13, 14, 15, 3 } });
        TorchSharp.torch.Tensor? trained = null;
        var outcome = new Trainer(ArchitectureRegistry.Default).Train(job, new TestRuns.Recorder(), CancellationToken.None, model =>
        {
            using var _ = TorchSharp.torch.no_grad();
            trained = model.call(ids.to(ModelZoo.Torch.Native.TorchRuntime.Device)).cpu().detach().clone();
        });

        var path = Path.Combine(_dir, "run.safetensors");
        outcome.Result.TrainedWeights!.File.ShouldBe("run.safetensors");
        var metadata = ModelZoo.Torch.Weights.SafeTensors.ReadMetadata(path);
        metadata["modelzoo.entry"].ShouldBe("bert_mlm.test");
        metadata["modelzoo.architecture"].ShouldBe("bert", "a masked LM is fine-tuned as the classifier on its encoder");
        var header = ModelZoo.Torch.Weights.SafeTensors.ReadHeader(path);
        header.Single(t => t.Name == "classifier.weight").Shape.ShouldBe([2L, 48L]);
        header.ShouldContain(t => t.Name == "bert.encoder.layer.2.attention.self.query.weight");
        header.ShouldNotContain(t => t.Name.StartsWith("cls."), "the masked-LM head is not part of the trained model");

        // Rebuilt from what the file says (architecture, config, classes), as a user without the portal would.
        var classes = System.Text.Json.JsonSerializer.Deserialize<string[]>(metadata["modelzoo.classes"])!;
        using var reloaded = ArchitectureRegistry.Default.Create(metadata["modelzoo.architecture"],
            new ArchitectureOptions(NumClasses: classes.Length, ConfigJson: metadata["modelzoo.config"]));
        var state = ModelZoo.Torch.Weights.SafeTensors.Load(path);
        try { ModelZoo.Torch.Weights.StateDictImporter.Import(reloaded, state, ModelZoo.Torch.Weights.ImportOptions.Strict); }
        finally { foreach (var t in state.Values) t.Dispose(); }
        reloaded.eval();
        using (TorchSharp.torch.no_grad())
        using (trained)
        using (var logits = reloaded.call(ids))
        using (var diff = (logits - trained!).abs().max())
            diff.item<float>().ShouldBeLessThan(1e-5f);
    }

    [Fact]
    public void Trainer_RefusesATextModelOnImages_AndAnImageModelOnTexts()
    {
        var textJob = Job(new HyperParameters { Epochs = 1 }, "full-fine-tune");
        var onImages = textJob with { Data = TrainerTests.DarkAndBright() };
        Should.Throw<NotSupportedException>(() => new Trainer(ArchitectureRegistry.Default).Train(onImages, new TestRuns.Recorder(), CancellationToken.None))
            .Message.ShouldContain("reads texts, but dataset 'dark-bright' holds images");

        var imageJob = TrainerTests.Job(new HyperParameters { Epochs = 1, ImageSize = 16 }) with { Data = textJob.Data };
        Should.Throw<NotSupportedException>(() => new Trainer(ArchitectureRegistry.Default).Train(imageJob, new TestRuns.Recorder(), CancellationToken.None))
            .Message.ShouldContain("reads images, but dataset 'sports-cooking' holds texts");
    }
}
