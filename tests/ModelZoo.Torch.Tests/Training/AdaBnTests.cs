using ModelZoo.Core.Runs;
using ModelZoo.Core.Strategies;
using ModelZoo.Torch.Models;
using ModelZoo.Torch.Training;
using ModelZoo.Torch.Training.Strategies;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelZoo.Torch.Tests.Training;

/// <summary>Adaptive BatchNorm: exact target statistics, nothing else changed, and an end-to-end run whose facts show the
/// target accuracy before and after.</summary>
[Collection(TorchGlobalRngCollection.Name)]
public sealed class AdaBnTests
{
    static HyperParameters Small() => new() { Epochs = 2, BatchSize = 16, LearningRate = 1e-3, ImageSize = 16, Seed = 5 };

    static AdaBnStrategy Create(AdaBnOptions? options = null) =>
        (AdaBnStrategy)StrategyRegistry.Default.Create(StrategyRegistry.Default.Find("adabn")!, options ?? new AdaBnOptions());

    static ZooModel Build(string arch)
    {
        var m = ArchitectureRegistry.Default.Create(arch);
        m.ResetClassifier(2);
        return m;
    }

    [Fact]
    public void Finish_SetsTheFirstBatchNormToTheTargetImagesExactStatistics_AndChangesNoParameter()
    {
        var domains = TwoDomains.Make();
        // 72 target training images in batches of 16: a short last batch, which a plain cumulative average would weight
        // like a full one.
        var job = domains.Job(Small(), "adabn");
        using var model = Build("resnet18");
        using var context = domains.Prepare(model, job);
        var run = context.Run;
        using var s = Create();
        s.Setup(run);

        var before = model.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone());
        var bn = model.named_modules().Where(m => m.module is BatchNorm).ToDictionary(m => m.name, m => (BatchNorm)m.module);
        var meansBefore = bn.ToDictionary(kv => kv.Key, kv => kv.Value.running_mean!.clone());
        s.Finish(run);

        foreach (var (name, p) in model.named_parameters())
            DannTests.Same(p, before[name]).ShouldBeTrue($"{name} changed while statistics were measured");
        model.modules().ShouldAllBe(m => !m.training, "the model is back in inference mode");
        s.Reestimation!.Layers.ShouldBe(bn.Count);
        s.Reestimation.Examples.ShouldBe(run.Target!.Unlabelled.Length);
        bn.ShouldAllBe(kv => !DannTests.Same(kv.Value.running_mean!, meansBefore[kv.Key]), "every BatchNorm layer was re-estimated");

        // conv1 feeds bn1 directly, so its inputs, and their statistics over all target images, can be computed here.
        var conv1 = (nn.Module<Tensor, Tensor>)model.named_modules().Single(m => m.name == "conv1").module;
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var outputs = new List<Tensor>();
        using (var batches = run.Target.Source.Eval(run.Target.Unlabelled, 50, CancellationToken.None))
            for (int b = 0; b < batches.Count; b++)
            {
                using var batch = batches.Next();
                outputs.Add(conv1.call(batch.X).to(ScalarType.Float64));
            }
        var all = cat(outputs, 0);
        var mean = all.mean([0, 2, 3]);
        var variance = all.var([0, 2, 3], unbiased: true);
        bn["bn1"].running_mean!.to(ScalarType.Float64).allclose(mean, rtol: 1e-5, atol: 1e-6).ShouldBeTrue("bn1's mean is the target's");
        bn["bn1"].running_var!.to(ScalarType.Float64).allclose(variance, rtol: 1e-5, atol: 1e-6).ShouldBeTrue("bn1's variance is the target's");
    }

    [Fact]
    public void Reestimation_RunsOnlyBatchNormInTrainingMode_WithoutGradients()
    {
        var domains = TwoDomains.Make();
        var job = domains.Job(Small(), "adabn");
        // MobileNet V2 has dropout before its classifier, which must stay off.
        using var model = Build("mobilenet_v2");
        using var context = domains.Prepare(model, job);
        var run = context.Run;
        model.train();
        var seen = new List<(bool IsBatchNorm, bool Training, bool Grad)>();
        var hooks = model.modules().OfType<nn.Module<Tensor, Tensor>>().Where(m => !m.children().Any())
            .Select(m => m.register_forward_pre_hook((mod, x) => { seen.Add((mod is BatchNorm, mod.training, is_grad_enabled())); return x; }))
            .ToList();
        try
        {
            BatchNormStatistics.Reestimate(model, run.Target!.Source, run.Target.Unlabelled, 16, CancellationToken.None);
        }
        finally { foreach (var h in hooks) h.remove(); }

        seen.ShouldContain(x => x.IsBatchNorm);
        seen.ShouldContain(x => !x.IsBatchNorm);
        seen.ShouldAllBe(x => x.Training == x.IsBatchNorm, "BatchNorm layers normalise by their batch, everything else (dropout) infers");
        seen.ShouldAllBe(x => !x.Grad);
    }

    [Fact]
    public void StatisticsIndices_AreASeededShuffle_CutToTheOption()
    {
        int[] all = Enumerable.Range(100, 50).ToArray();
        AdaBnStrategy.StatisticsIndices(all, 1, 0).Order().ShouldBe(all);
        AdaBnStrategy.StatisticsIndices(all, 1, 0).ShouldNotBe(all, "shuffled, so no batch holds one class only");
        AdaBnStrategy.StatisticsIndices(all, 1, 20).Length.ShouldBe(20);
        AdaBnStrategy.StatisticsIndices(all, 1, 20).ShouldBe(AdaBnStrategy.StatisticsIndices(all, 1, 20));
        AdaBnStrategy.StatisticsIndices(all, 1, 500).Length.ShouldBe(50);
    }

    [Fact]
    public void AdaBn_TrainsOnTheSource_ThenReportsTheTargetAccuracyBeforeAndAfter()
    {
        var domains = TwoDomains.Make();
        var outcome = new Trainer(ArchitectureRegistry.Default).Train(domains.Job(Small(), "adabn"), new TestRuns.Recorder(), CancellationToken.None);
        var r = outcome.Result;
        var facts = r.StrategyFacts.ToDictionary(f => f.Label, f => f.Value);

        r.TestExamples.ShouldBe(domains.Target.Split.Test.Length, "the test is the target's test split");
        r.Selection.ShouldBe(ModelSelection.BestValidation, "chosen by the source's validation labels, before re-estimation");
        facts["BatchNorm statistics"].ShouldStartWith($"all 20 BatchNorm layers re-estimated on {domains.Target.Split.Train.Length} of the target's");
        var before = Percent(facts["Target test accuracy before re-estimation"]);
        var after = Percent(facts["Target test accuracy after re-estimation"]);
        after.ShouldBe(r.TestAccuracy, 1e-4, "after re-estimation is what the run's test measured");
        // The target is the source brightened: its dark images look like the source's bright ones. Source statistics
        // misread it; the target's own undo most of the shift.
        // Measured: 50 % before (every target image read as bright), 91.7 % after.
        before.ShouldBeLessThan(0.7);
        after.ShouldBeGreaterThan(0.8);
    }

    static double Percent(string fact) =>
        double.Parse(fact[..fact.IndexOf('%')].Trim(), System.Globalization.CultureInfo.InvariantCulture) / 100;
}
