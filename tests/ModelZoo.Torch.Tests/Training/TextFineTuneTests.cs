using System.Text.Json.Nodes;
using ModelZoo.Core.Runs;
using ModelZoo.Core.Strategies;
using ModelZoo.Torch.Models;
using ModelZoo.Torch.Native;
using ModelZoo.Torch.Training;
using ModelZoo.Torch.Training.Strategies;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace ModelZoo.Torch.Tests.Training;

/// <summary>Text fine-tuning of a real, tiny BERT: what it freezes (weights and modes), its rates, and a run end to end.</summary>
[Collection(TorchGlobalRngCollection.Name)]
public sealed class TextFineTuneTests(ITestOutputHelper output) : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("modelzoo-text-fine-tune-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>3 encoder layers of 48 with dropout, so eval and train mode differ.</summary>
    static ZooModel TinyBertModel()
    {
        var config = """
            { "model_type": "bert", "vocab_size": 40, "hidden_size": 48, "num_hidden_layers": 3, "num_attention_heads": 3,
              "intermediate_size": 96, "hidden_act": "gelu", "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1,
              "max_position_embeddings": 32, "type_vocab_size": 2, "initializer_range": 0.02, "layer_norm_eps": 1e-12, "pad_token_id": 0 }
            """;
        return ArchitectureRegistry.Default.Create("bert", new ArchitectureOptions(2, config));
    }

    static long Parameters(ZooModel m, IEnumerable<string> stages)
    {
        var set = stages.ToHashSet();
        return m.ParameterGroups().Where(g => set.Contains(g.Name)).Sum(g => g.Parameters.Sum(p => p.Parameter.numel()));
    }

    [Theory]
    [InlineData(false, 0, new string[0])]
    [InlineData(true, 0, new[] { "embeddings" })]
    [InlineData(false, 2, new[] { "encoder.layer.0", "encoder.layer.1" })]
    [InlineData(true, 3, new[] { "embeddings", "encoder.layer.0", "encoder.layer.1", "encoder.layer.2" })]
    public void TextFineTune_FreezesExactlyTheChosenParts_TheirWeightsAndTheirDropout(bool freezeEmbeddings, int frozenLayers, string[] frozen)
    {
        using var m = TinyBertModel();
        var (run, s) = TestRuns.Prepare(m, "text-fine-tune", new JsonObject { ["freezeEmbeddings"] = freezeEmbeddings, ["frozenLayers"] = frozenLayers });
        s.Setup(run);
        var groups = s.ParameterGroups(run);
        s.BeginEpoch(run, 1);

        var trained = m.StageNames.Except(frozen).ToList();
        foreach (var g in m.ParameterGroups())
            foreach (var (name, p) in g.Parameters)
                p.requires_grad.ShouldBe(!frozen.Contains(g.Name), name);
        groups.Sum(g => g.Parameters.Sum(p => p.numel())).ShouldBe(Parameters(m, trained), "the optimiser gets exactly the trained parts");
        foreach (var stage in m.StageNames)
            foreach (var module in m.StageModules(stage))
                module.modules().Append(module).ShouldAllBe(x => x.training == !frozen.Contains(stage), stage);
        m.modules().OfType<TorchSharp.Modules.Dropout>().Count(d => !d.training).ShouldBe(
            frozen.Sum(st => m.StageModules(st).Sum(x => x.modules().OfType<TorchSharp.Modules.Dropout>().Count())));
        s.Facts(run).First(f => f.Label == "Frozen parts").Value.ShouldStartWith(frozen.Length == 0 ? "none" : string.Join(", ", frozen));
    }

    [Fact]
    public void TextFineTune_FrozenPartsComputeDeterministically_WhileTheTrainedPartsDropOut()
    {
        using var m = TinyBertModel();
        var (run, s) = TestRuns.Prepare(m, "text-fine-tune", new JsonObject { ["freezeEmbeddings"] = true, ["frozenLayers"] = 3 });
        s.Setup(run);
        s.BeginEpoch(run, 1);
        using var ids = tensor(new long[,] { { 2, 7, 8, 9, 3 } });
        using var _ = no_grad();
        using var a = m.ForwardFeatures(ids);
        using var b = m.ForwardFeatures(ids);
        TestRuns.Same(a, b).ShouldBeTrue("embeddings and all three layers are frozen: their dropout is off");
        // The classifier's own dropout is not frozen (it trains with the head), so repeated logits differ.
        var differs = Enumerable.Range(0, 5).Any(_ => { using var x = m.call(ids); using var y = m.call(ids); return !TestRuns.Same(x, y); });
        differs.ShouldBeTrue();
    }

    [Fact]
    public void TextFineTune_RefusesMoreFrozenLayersThanTheModelHas_NamingTheLimit()
    {
        using var m = TinyBertModel();
        Should.Throw<ArgumentOutOfRangeException>(() => TextFineTuneStrategy.Split(m, new TextFineTuneOptions { FrozenLayers = 4 }))
            .Message.ShouldContain("between 0 and 3");
    }

    [Fact]
    public void TextFineTune_LayerwiseDecay_GivesTheHeadTheBaseRate_AndEachLowerStageTheDecayOnceMore()
    {
        using var m = TinyBertModel();
        var (run, s) = TestRuns.Prepare(m, "text-fine-tune", new JsonObject { ["frozenLayers"] = 1, ["layerwiseDecay"] = 0.5 });
        s.Setup(run);
        var groups = s.ParameterGroups(run);
        groups.Select(g => g.Name).ShouldBe(["head", "pooler", "encoder.layer.2", "encoder.layer.1", "embeddings"]);
        groups.Select(g => g.LearningRateScale).ShouldBe([1, 0.5, 0.25, 0.125, 0.03125]);
    }

    [Fact]
    public void TextFineTune_OfATinyBert_LearnsSportsFromCooking_WithItsLowestLayerFrozenAndUnchanged()
    {
        var h = new HyperParameters { Epochs = 3, BatchSize = 16, LearningRate = 1e-2, Seed = 7, MaxTokens = 64 };
        var job = TinyBert.Job(_dir, h, "text-fine-tune", new JsonObject { ["frozenLayers"] = 1 });
        Dictionary<string, Tensor>? after = null;
        var outcome = new Trainer(ArchitectureRegistry.Default).Train(job, new TestRuns.Recorder(), CancellationToken.None,
            model => after = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone()));
        var r = outcome.Result;
        output.WriteLine($"test accuracy {r.TestAccuracy:F3}; trainable {r.TrainableParameters:N0} of {r.TotalParameters:N0}");

        // The same seeded build as the trainer's: the frozen parts must still hold exactly these values.
        using var initial = TorchRuntime.BuildSeeded(h.Seed, () =>
        {
            var m = ArchitectureRegistry.Default.Create("bert", ArchitectureOptions.Of(job.Model) with { ConfigJson = File.ReadAllText(job.Text!.ConfigPath) });
            m.ResetClassifier(2);
            return m;
        });
        try
        {
            // 48 test texts, two balanced classes: chance is 0.5.
            r.TestAccuracy.ShouldBeGreaterThan(0.9);
            string[] frozen = ["encoder.layer.0"];
            r.TrainableParameters.ShouldBe(r.TotalParameters - Parameters(initial, frozen));
            r.StrategyFacts.First(f => f.Label == "Frozen parts").Value.ShouldStartWith("encoder.layer.0 (");
            var frozenKeys = initial.ParameterGroups().Where(g => frozen.Contains(g.Name)).SelectMany(g => g.Parameters.Select(p => p.Name)).ToList();
            var trainedKeys = initial.ParameterGroups().Where(g => !frozen.Contains(g.Name)).SelectMany(g => g.Parameters.Select(p => p.Name)).ToList();
            var state = initial.state_dict();
            foreach (var key in frozenKeys) TestRuns.Same(state[key], after![key]).ShouldBeTrue(key);
            trainedKeys.Count(key => !TestRuns.Same(state[key], after![key])).ShouldBe(trainedKeys.Count, "every trained tensor moved");
        }
        finally { foreach (var t in after!.Values) t.Dispose(); }
    }
}
