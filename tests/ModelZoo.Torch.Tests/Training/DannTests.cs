using ModelZoo.Core.Runs;
using ModelZoo.Core.Training;
using ModelZoo.Torch.Models;
using ModelZoo.Torch.Pipeline;
using ModelZoo.Torch.Training;
using ModelZoo.Torch.Training.Strategies;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelZoo.Torch.Tests.Training;

/// <summary>Domain-adversarial training: the reversal layer, the λ schedule, a step that never reads a target label,
/// an end-to-end run on a shifted target, and resume with the domain classifier restored.</summary>
[Collection(TorchGlobalRngCollection.Name)]
public sealed class DannTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("modelzoo-dann-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    static HyperParameters Small(int epochs = 2) => new() { Epochs = epochs, BatchSize = 16, LearningRate = 1e-3, ImageSize = 16, Seed = 5 };

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.3)]
    [InlineData(1.0)]
    public void GradientReversal_IsTheIdentityForward_AndScalesTheGradientByMinusLambda(double lambda)
    {
        using var scope = NewDisposeScope();
        var x = randn(4, 5).requires_grad_();
        var w = randn(4, 5);
        var y = GradientReversal.Apply(x, lambda);
        Same(y, x).ShouldBeTrue("the forward value is x, bit for bit");
        y.mul(w).sum().backward();
        // Without the layer the gradient of sum(w·x) would be w; through it, -λ·w.
        x.grad!.allclose(w.mul(-lambda), rtol: 1e-6, atol: 1e-7).ShouldBeTrue();
    }

    [Fact]
    public void GradientReversal_LeavesTheGradientOfLayersAfterItAlone()
    {
        using var scope = NewDisposeScope();
        var x = randn(3, 2).requires_grad_();
        var head = randn(2).requires_grad_();
        GradientReversal.Apply(x, 0.5).matmul(head).sum().backward();
        // The domain classifier's own gradient is the ordinary one: it learns to tell the domains apart.
        head.grad!.allclose(x.detach().sum([0L])).ShouldBeTrue();
        x.grad!.allclose(head.detach().mul(-0.5).expand(3, 2)).ShouldBeTrue();
    }

    [Fact]
    public void LambdaSchedule_RisesFromZeroToTheMaximum_AlongGaninsCurve()
    {
        GradientReversal.Lambda(0, 1).ShouldBe(0);
        GradientReversal.Lambda(0.1, 1).ShouldBe(2 / (1 + Math.Exp(-1)) - 1, 1e-12);
        GradientReversal.Lambda(0.5, 1).ShouldBe(0.98661, 1e-5);
        GradientReversal.Lambda(1, 1).ShouldBe(0.999909, 1e-6);
        GradientReversal.Lambda(0.5, 0.2).ShouldBe(0.2 * 0.98661, 1e-5, "the maximum scales the whole curve");
        var curve = Enumerable.Range(0, 101).Select(i => GradientReversal.Lambda(i / 100.0, 1)).ToArray();
        curve.ShouldBeInOrder(SortDirection.Ascending);
        GradientReversal.Lambda(1.5, 1).ShouldBe(GradientReversal.Lambda(1, 1), "progress beyond the end is the end");
    }

    /// <summary>Equal shapes and equal values, bit for bit.</summary>
    internal static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();

    static Tensor[] Gradients(IEnumerable<Parameter> ps) =>
        ps.Select(p => p.grad is null ? zeros(1) : p.grad.detach().clone()).ToArray();

    [Fact]
    public void Step_FeedsOnlySourceRowsAndLabelsToTheCrossEntropy_AndNeverReadsTargetLabels()
    {
        var domains = TwoDomains.Make();
        var job = domains.Job(Small(), "dann");
        using var model = ArchitectureRegistry.Default.Create("resnet18");
        model.ResetClassifier(2);
        using var context = domains.Prepare(model, job);
        var run = context.Run;
        var (description, options) = (StrategyRegistry.Default.Find("dann")!, new ModelZoo.Core.Strategies.DannOptions());
        using var s = (DannStrategy)StrategyRegistry.Default.Create(description, options);
        s.Setup(run);
        s.ParameterGroups(run);
        s.BeginEpoch(run, 1);

        using var sourceBatches = run.Data.Eval(run.TrainIndices.Take(8).ToArray(), 8, CancellationToken.None);
        using var source = sourceBatches.Next();
        using var targetBatches = run.Target!.Source.Eval(run.Target.Unlabelled.Take(8).ToArray(), 8, CancellationToken.None);
        using var hidden = targetBatches.Next();
        hidden.Y.data<long>().ToArray().ShouldAllBe(y => y == -1, "the target's training labels are hidden before training code runs");
        var truth = run.Target.Unlabelled.Take(8).Select(i => (long)domains.TrueTargetLabels[i]).ToArray();
        using var trueLabels = new TrainingBatch(hidden.X.clone(), tensor(truth));
        using var wrongLabels = new TrainingBatch(hidden.X.clone(), tensor(truth.Select(y => 1 - y).ToArray()));

        var parameters = model.parameters().Concat(s.Domain!.parameters()).ToList();
        var losses = new List<float>();
        var gradients = new List<Tensor[]>();
        foreach (var target in new[] { hidden, trueLabels, wrongLabels })
        {
            using var scope = NewDisposeScope();
            random.manual_seed(11); // the same dropout masks for every variant
            foreach (var p in parameters) p.grad?.zero_();
            var step = s.Step(run, new StepInput(source, new Dictionary<string, TrainingBatch> { [DannStrategy.TargetStream] = target }, 1, 3, 10, 0.2));
            step.Logits!.shape.ShouldBe([8L, 2L], "logits of the source rows only");
            // The loss is the source's cross-entropy on those logits plus the domain loss, nothing else.
            var sourceCe = run.CrossEntropy(step.Logits, source.Y).item<float>();
            step.Loss.item<float>().ShouldBe(sourceCe + (float)step.Values!["domain_loss"], 1e-5);
            step.Values["lambda"].ShouldBe(GradientReversal.Lambda(0.2, 1));
            step.Values["domain_acc"].ShouldBeInRange(0, 1);
            losses.Add(step.Loss.item<float>());
            step.Loss.backward();
            gradients.Add(Gradients(parameters).Select(g => g.MoveToOuterDisposeScope()).ToArray());
        }
        losses.Distinct().Count().ShouldBe(1, "hidden, true or wrong target labels: the loss cannot tell");
        for (int v = 1; v < gradients.Count; v++)
            for (int i = 0; i < parameters.Count; i++)
                Same(gradients[v][i], gradients[0][i]).ShouldBeTrue($"parameter {i}'s gradient depends on the target's labels");
        foreach (var g in gradients.SelectMany(x => x)) g.Dispose();
    }

    [Fact]
    public void Dann_TrainsEndToEnd_ReportingDomainValuesEachStep_AndTestsOnTheTarget()
    {
        var domains = TwoDomains.Make();
        var steps = new List<StepProgress>();
        var epochs = new List<EpochMetrics>();
        var outcome = new Trainer(ArchitectureRegistry.Default).Train(domains.Job(Small(), "dann"),
            new TestRuns.Recorder(steps.Add, epochs.Add), CancellationToken.None);
        var r = outcome.Result;

        steps.Count.ShouldBe(2 * ((domains.Source.Split.Train.Length + 15) / 16));
        foreach (var s in steps)
        {
            s.Values["lambda"].ShouldBe(GradientReversal.Lambda((s.GlobalStep - 1.0) / s.TotalSteps, 1), 1e-12);
            s.Values["domain_loss"].ShouldBeGreaterThan(0);
            double.IsFinite(s.Values["domain_loss"]).ShouldBeTrue();
            s.Values["domain_acc"].ShouldBeInRange(0, 1);
        }
        steps[0].Values["lambda"].ShouldBe(0, "no adversary at the first step");
        epochs.Count.ShouldBe(2);
        epochs.ShouldAllBe(e => e.Values.ContainsKey("target_val_acc") && e.Values["target_val_acc"] >= 0 && e.Values["target_val_acc"] <= 1);

        r.Selection.ShouldBe(ModelSelection.LastEpoch, "the target's labels may not choose the weights");
        r.TestExamples.ShouldBe(domains.Target.Split.Test.Length, "the test is the target's test split");
        r.ConfusionMatrix.Sum(row => row.Sum()).ShouldBe(domains.Target.Split.Test.Length);
        r.ValExamples.ShouldBe(domains.Source.Split.Validation.Length, "the loop's validation is the labelled source's");
        r.TrainableParameters.ShouldBe(r.TotalParameters + (512 * 256 + 256) + (256 + 1), "the model and the domain classifier train");
        r.StrategyFacts.Select(f => f.Label).ShouldBe(["Target domain", "Domain classifier", "λ schedule", "Learning rates", "Domain accuracy"]);
        r.StrategyFacts[0].Value.ShouldStartWith($"{domains.Target.Split.Train.Length} training images used without their labels");
    }

    [Fact]
    public void Dann_ResumedAfterAnInterruption_RestoresTheDomainClassifier_AndContinuesAsIfNeverStopped()
    {
        // Three runs' worth of epochs: fewer images keep it quick.
        var domains = TwoDomains.Make(perClass: 40);
        var h = Small();
        var stepsPerEpoch = (domains.Source.Split.Train.Length + 15) / 16;

        var straight = new List<StepProgress>();
        var straightDir = Directory.CreateDirectory(Path.Combine(_dir, "straight")).FullName;
        new Trainer(ArchitectureRegistry.Default).Train(domains.Job(h, "dann") with { OutputDir = straightDir, Checkpoint = true },
            new TestRuns.Recorder(straight.Add), CancellationToken.None);

        // The same run, stopped in its second epoch: the checkpoint after epoch 1 is what a resume starts from.
        var resumedDir = Directory.CreateDirectory(Path.Combine(_dir, "resumed")).FullName;
        var job = domains.Job(h, "dann") with { OutputDir = resumedDir, Checkpoint = true };
        using (var cts = new CancellationTokenSource())
        {
            var progress = new TestRuns.Recorder(s => { if (s.GlobalStep == stepsPerEpoch + 1) cts.Cancel(); });
            Should.Throw<OperationCanceledException>(() => new Trainer(ArchitectureRegistry.Default).Train(job, progress, cts.Token));
        }
        var saved = ModelZoo.Torch.Weights.SafeTensors.Load(Path.Combine(resumedDir, CheckpointFiles.Directory, CheckpointFiles.Tensors));
        try
        {
            saved.Keys.Where(k => k.StartsWith("extra.domain.", StringComparison.Ordinal)).Order()
                .ShouldBe(["extra.domain.fc1.bias", "extra.domain.fc1.weight", "extra.domain.fc2.bias", "extra.domain.fc2.weight"]);
        }
        finally { foreach (var t in saved.Values) t.Dispose(); }

        var resumed = new List<StepProgress>();
        var outcome = new Trainer(ArchitectureRegistry.Default).Train(job with { Resume = true }, new TestRuns.Recorder(resumed.Add), CancellationToken.None);
        outcome.Result.ResumedAfterEpochs.ShouldBe([1]);
        resumed.Select(s => s.GlobalStep).ShouldBe(Enumerable.Range(stepsPerEpoch + 1, stepsPerEpoch));
        // The domain loss of the replayed epoch depends on the domain classifier's weights: a fresh one would differ.
        resumed.Select(s => s.Values["domain_loss"]).ShouldBe(straight.Skip(stepsPerEpoch).Select(s => s.Values["domain_loss"]));
        resumed.Select(s => s.Loss).ShouldBe(straight.Skip(stepsPerEpoch).Select(s => s.Loss));
    }
}
