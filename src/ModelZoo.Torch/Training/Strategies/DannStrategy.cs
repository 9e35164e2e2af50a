using System.Globalization;
using ModelZoo.Core.Datasets;
using ModelZoo.Core.Runs;
using ModelZoo.Core.Strategies;
using ModelZoo.Core.Training;
using ModelZoo.Torch.Models;
using ModelZoo.Torch.Native;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelZoo.Torch.Training.Strategies;

/// <summary>
/// Domain-adversarial training (DANN). Each step passes a labelled source batch and an equally large unlabelled target
/// batch through the backbone together; the source rows alone feed the classifier and its cross-entropy, and all rows
/// feed the <see cref="DomainClassifier"/> through a <see cref="GradientReversal"/> layer. Target labels are never read:
/// the target stream's labels are -1 by construction (<see cref="DomainAlignment"/>), and this class touches only its
/// images. The target's validation split is evaluated for monitoring, its test split is the run's test.
/// </summary>
public sealed class DannStrategy : TrainingStrategy<DannOptions>
{
    /// <summary>The second batch stream: the target's training split, without labels.</summary>
    public const string TargetStream = "target";

    DomainClassifier? _domain;
    // The current epoch's domain accuracy, for the facts: how well the adversary could still tell the domains apart.
    long _domainCorrect, _domainSeen;
    int _epoch;

    /// <summary>Choosing an epoch by the target's validation accuracy would be learning from target labels, and choosing
    /// by the source's would favour source-specific features: the last epoch is tested.</summary>
    public override ModelSelection Selection => ModelSelection.LastEpoch;

    /// <summary>Checkpointed with the model, so a resumed run continues with the adversary it had.</summary>
    public override IEnumerable<(string Name, nn.Module Module)> ExtraModules => _domain is null ? [] : [("domain", _domain)];

    /// <summary>The domain classifier, once <see cref="Setup"/> has built it.</summary>
    public DomainClassifier? Domain => _domain;

    public override void Setup(RunContext run)
    {
        if (run.Planning)
        {
            // A plan's domain classifier is built on the meta device (already under the construction lock) and not
            // seeded: reseeding libtorch's one generator would change the draws of a run training meanwhile.
            _domain = new DomainClassifier(run.Model.NumFeatures, Options.HiddenWidth, Options.DomainDropout);
            return;
        }
        var target = RequireTarget(run);
        if (target.Unlabelled.Length == 0)
            throw new InvalidOperationException("DANN learns from the target's training images, and the target's training split is empty.");
        // Seeded apart from the model, and under the construction lock that keeps a parameter count on the meta device
        // from capturing this module.
        _domain = TorchRuntime.BuildSeeded(TrainingSelection.Seed(run.Training.Seed, 0xDA77),
            () => new DomainClassifier(run.Model.NumFeatures, Options.HiddenWidth, Options.DomainDropout));
        _domain.to(run.Device);
    }

    public override IReadOnlyList<ParameterGroupSpec> ParameterGroups(RunContext run)
    {
        foreach (var p in run.Model.parameters()) p.requires_grad = true;
        return
        [
            .. LayerwiseLearningRates.Groups(run.Model, run.Model.StageNames, Options.LayerwiseDecay),
            new ParameterGroupSpec("domain-classifier", Domain!.parameters().ToList()),
        ];
    }

    public override void BeginEpoch(RunContext run, int epoch)
    {
        run.Model.train();
        _domain!.train();
        _epoch = epoch;
        _domainCorrect = 0;
        _domainSeen = 0;
    }

    public override IReadOnlyList<BatchStream> Streams(RunContext run) =>
        [BatchStream.Labelled(run), new BatchStream(TargetStream, RequireTarget(run).Source, run.Target!.Unlabelled, run.Training.Augment)];

    public override StepResult Step(RunContext run, StepInput input)
    {
        var source = input.Batch;
        var target = input.Others[TargetStream];
        int ns = source.Count;
        // No more target rows than source rows (the epoch's last source batch may be short): the domains stay balanced,
        // so the domain classifier's chance level stays near 0.5.
        int nt = Math.Min(target.Count, ns);
        var targetImages = nt < target.Count ? target.X.narrow(0, 0, nt) : target.X;

        var features = run.Model.ForwardHead(run.Model.ForwardFeatures(cat([source.X, targetImages], 0)), preLogits: true);
        // Only source rows and source labels reach the classification loss.
        var logits = run.Model.ForwardClassifier(features.narrow(0, 0, ns));
        var classification = run.CrossEntropy(logits, source.Y);

        var lambda = GradientReversal.Lambda(input.Progress, Options.MaxLambda);
        var domainLogits = _domain!.call(GradientReversal.Apply(features, lambda));
        var domainLabels = cat([zeros(ns, device: run.Device), ones(nt, device: run.Device)], 0);
        var domainLoss = nn.functional.binary_cross_entropy_with_logits(domainLogits, domainLabels);

        var correct = domainLogits.gt(0).eq(domainLabels.gt(0.5)).sum().item<long>();
        _domainCorrect += correct;
        _domainSeen += ns + nt;
        return new StepResult(classification.add(domainLoss), logits, new Dictionary<string, double>
        {
            ["domain_loss"] = domainLoss.item<float>(),
            ["lambda"] = lambda,
            ["domain_acc"] = (double)correct / (ns + nt),
        });
    }

    public override EvaluationSet Evaluation(RunContext run, DatasetSplit split) =>
        split == DatasetSplit.Test ? new EvaluationSet(RequireTarget(run).Source, run.Target!.Test) : base.Evaluation(run, split);

    public override IReadOnlyDictionary<string, double> EpochValues(RunContext run, int epoch)
    {
        var target = RequireTarget(run);
        if (target.Validation.Length == 0) return EmptyValues;
        // Monitoring only: the loop never sees this number when it selects weights or stops early.
        var acc = Evaluator.Run(run, this, new EvaluationSet(target.Source, target.Validation)).Accuracy;
        return new Dictionary<string, double> { ["target_val_acc"] = acc };
    }

    public override IEnumerable<StrategyFact> Facts(RunContext run)
    {
        var inv = CultureInfo.InvariantCulture;
        if (run.Target is { } t)
            yield return new("Target domain", $"{t.Unlabelled.Length:N0} training images used without their labels; " +
                $"{t.Validation.Length:N0} validation images (monitoring only) and {t.Test.Length:N0} test images (the run's test) read their labels for evaluation only");
        if (_domain is { } d)
            yield return new("Domain classifier", $"Linear({run.Model.NumFeatures}, {d.Hidden}), ReLU, Dropout({Options.DomainDropout.ToString("G3", inv)}), " +
                $"Linear({d.Hidden}, 1) on the pooled features, behind a gradient-reversal layer; {d.parameters().Sum(p => p.numel()):N0} parameters");
        yield return new("λ schedule", $"{Options.MaxLambda.ToString("G3", inv)} × (2/(1+exp(-10p)) - 1): " +
            string.Join(", ", new[] { 0.0, 0.1, 0.25, 0.5, 1.0 }.Select(p => $"{GradientReversal.Lambda(p, Options.MaxLambda).ToString("G3", inv)} at p = {p.ToString("G2", inv)}")));
        var baseRate = run.Training.LearningRate;
        yield return new("Learning rates", PartialFineTuneStrategy.Rates(run.Model, run.Model.StageNames, Options.LayerwiseDecay, baseRate) +
            $", domain classifier {baseRate.ToString("G3", inv)}");
        if (_domainSeen > 0)
            yield return new("Domain accuracy", $"{(double)_domainCorrect / _domainSeen:P1} over epoch {_epoch}'s steps (50 % means the features hide the domain)");
    }

    static TargetData RequireTarget(RunContext run) => run.Target
        ?? throw new InvalidOperationException("DANN adapts to a target dataset, and the run has none: choose one (TargetDatasetId).");

    public override void Dispose()
    {
        _domain?.Dispose();
        base.Dispose();
    }
}
