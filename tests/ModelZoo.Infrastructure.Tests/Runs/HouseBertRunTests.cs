using Microsoft.Extensions.DependencyInjection;
using ModelZoo.Core.Datasets;
using ModelZoo.Core.Runs;
using ModelZoo.Core.Training;
using ModelZoo.Infrastructure.Catalog;
using ModelZoo.Infrastructure.Datasets;
using ModelZoo.Infrastructure.Runs;
using ModelZoo.Torch.Models;

using ModelZoo.Torch.Training;
using ModelZoo.Torch.Weights;
using static TorchSharp.torch;

namespace ModelZoo.Infrastructure.Tests.Runs;

/// <summary>
/// The repo's house masked-LM (zoo/bert_mlm.mini_house) as the start of a text classification run: the run trains
/// <c>bert</c> on its encoder, drops the MLM head, starts the pooler fresh, and says all of that in its card.
/// </summary>
public sealed class HouseBertRunTests
{
    const string Entry = "bert_mlm.mini_house";

    /// <summary>Keeps a copy of one encoder tensor and the pooler right after the weights were loaded.</summary>
    sealed class Recording(IWeightsInitializer inner) : IWeightsInitializer
    {
        public Tensor? Query0, Pooler;
        public string? Architecture;
        public IReadOnlyList<string> Initialise(ZooModel model, TrainingJob job)
        {
            var notes = inner.Initialise(model, job);
            Architecture = model.Architecture;
            var state = model.state_dict();
            Query0 = state["bert.encoder.layer.0.attention.self.query.weight"].detach().clone();
            Pooler = state["bert.pooler.dense.weight"].detach().clone();
            return notes;
        }
    }

    [Fact]
    public async Task ARun_OnTheHouseMaskedLM_FineTunesBertOnItsEncoder_AndItsCardSaysWhatWasLoaded()
    {
        var weights = new Recording(new FileWeightsInitializer());
        await using var host = new TestHost(new Trainer(ArchitectureRegistry.Default, weights));
        await host.StartAsync();
        var texts = WaterOrFire(perClass: 30, seed: 5);
        var split = StratifiedSplitter.Split(texts.Labels, 1);
        host.Services.GetRequiredService<DatasetStore>().Write(new DatasetInfo
        {
            Id = "topics", Title = "Topics", Modality = DatasetModality.Text, ClassNames = texts.ClassNames, Examples = texts.Count,
            License = "test", Provenance = "generated in test",
            Splits = new SplitSizes(split.Train.Length, split.Validation.Length, split.Test.Length),
        }, texts, split);

        var catalog = host.Services.GetRequiredService<ZooCatalog>();
        var bundled = catalog.StartingWeightsOf(catalog.Find(Entry)!.Manifest).ShouldNotBeNull("the house BERT ships its weights");
        var runs = host.Services.GetRequiredService<RunService>();
        var launch = await runs.LaunchAsync(new RunRequest
        {
            ModelId = Entry, DatasetId = "topics", Strategy = "full-fine-tune",
            HyperParameters = new HyperParameters { Epochs = 1, BatchSize = 8, LearningRate = 1e-4, Seed = 3, MaxTokens = 32 },
        });
        launch.Ok.ShouldBeTrue(string.Join("; ", launch.Errors.Values));
        var view = await runs.UntilEndAsync(launch.RunId!.Value, TimeSpan.FromMinutes(5));

        view.Status.ShouldBe(RunStatus.Succeeded, view.Error);
        weights.Architecture.ShouldBe("bert");
        using (var state = new DisposableState(SafeTensors.Load(bundled.Path)))
        {
            var query = state.Tensors.Single(kv => kv.Key.EndsWith("encoder.layer.0.attention.self.query.weight", StringComparison.Ordinal)).Value;
            ModelZoo.Infrastructure.Tests.Weights.WeightsImportServiceTests.Same(weights.Query0!, query).ShouldBeTrue("the encoder starts from the house weights");
            state.Tensors.Keys.ShouldNotContain(k => k.Contains("pooler"), "a masked-LM checkpoint has no pooler");
        }
        weights.Pooler!.std().item<float>().ShouldBeInRange(0.015f, 0.025f, "the pooler starts fresh, normal(0, initializer_range 0.02)");

        var result = view.Result.ShouldNotBeNull();
        result.TrainedArchitecture.ShouldBe("bert");
        result.WeightsNotes.ShouldContain(n => n.Contains("under 'bert.pooler.' not in the checkpoint") && n.Contains("initialised fresh"));
        result.WeightsNotes.ShouldContain(n => n.Contains("cls.predictions"), "the dropped MLM head is named");
        result.WeightsNotes.ShouldContain("The checkpoint has no classifier ('classifier'), so the head was initialised fresh for the model's 2 classes.", "the head is built for the dataset's classes, not the vocabulary");
        var card = view.CardMarkdown.ShouldNotBeNull();
        card.ShouldContain("the run fine-tuned `bert` on the same backbone");
        card.ShouldContain("bert.pooler.dense.weight");
        card.ShouldContain($"house weights bundled with catalogue entry `{Entry}`");
        weights.Query0!.Dispose();
        weights.Pooler!.Dispose();
    }

    /// <summary>Sentences about water or about fire, in words a vocabulary built from glosses and speeches knows.</summary>
    internal static TextSet WaterOrFire(int perClass, int seed)
    {
        string[][] nouns = [["the river", "the sea", "a lake", "the rain", "the flood"], ["the fire", "a flame", "the smoke", "the heat", "the ashes"]];
        string[][] verbs = [["flowed over", "covered", "filled", "washed away"], ["burned", "destroyed", "warmed", "lit up"]];
        string[] places = ["the town", "the old house", "our fields", "the valley", "the city"];
        var rng = new Random(seed);
        var texts = new List<string>();
        var labels = new List<int>();
        for (int i = 0; i < 2 * perClass; i++)
        {
            int c = i % 2;
            texts.Add($"{nouns[c][rng.Next(5)]} {verbs[c][rng.Next(4)]} {places[rng.Next(5)]} {(rng.Next(2) == 0 ? "last night" : "again")}.");
            labels.Add(c);
        }
        return new TextSet { Texts = texts, Labels = [.. labels], ClassNames = ["water", "fire"] };
    }

    sealed class DisposableState(Dictionary<string, Tensor> tensors) : IDisposable
    {
        public Dictionary<string, Tensor> Tensors { get; } = tensors;
        public void Dispose() { foreach (var t in Tensors.Values) t.Dispose(); }
    }
}
