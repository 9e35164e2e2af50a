using System.Globalization;
using ModelZoo.Core.Datasets;

namespace ModelZoo.Core.Runs.Plan;

/// <summary>What the linter looks at: the (valid) request, the model's pretraining input size, whether the run
/// starts from pretrained weights, the dataset's facts, and the map the strategy gave (null when it could not plan).</summary>
/// <param name="PretrainedInputSize">The manifest's input size (<c>preprocessing.input_size</c>); null for text models.</param>
public sealed record LintInput(RunRequest Request, int? PretrainedInputSize, bool StartsFromPretrainedWeights, DatasetInfo Dataset, TrainingMap? Map);

/// <summary>
/// Known pitfalls of a transfer run, found before launch, each with its numbers and its reason. The rules read the
/// map (what really trains, in which mode, at which rate), so they judge the run the strategy would train rather
/// than the strategy's name. None of them refuses a launch: each names a common cause of a poor result, and a user
/// may have a reason to do it anyway.
/// </summary>
public static class LaunchLinter
{
    /// <summary>Below this many examples per batch, BatchNorm's batch statistics are noisy (Wu &amp; He 2018).</summary>
    public const int MinBatchForBatchNorm = 16;
    /// <summary>A pretrained layer training above this multiple of the optimiser's usual top fine-tuning rate.</summary>
    public const double LearningRateFactor = 10;
    /// <summary>An input side outside [pretrained / this, pretrained × this].</summary>
    public const double InputSizeFactor = 2;
    /// <summary>Trained parameters per labelled training example above which the linter speaks.</summary>
    public const double ParametersPerExample = 10_000;

    /// <summary>The usual fine-tuning range of peak learning rates per optimiser: AdamW 1e-5 to 1e-3 (BERT's 2e-5 to
    /// 5e-5, timm's fine-tuning recipes around 1e-4 to 1e-3), SGD with momentum 1e-3 to 1e-1 (torchvision's transfer
    /// tutorial 1e-3, ImageNet training from scratch 0.1).</summary>
    public static (double Low, double High) UsualRange(OptimizerKind optimizer) =>
        optimizer == OptimizerKind.Sgd ? (1e-3, 1e-1) : (1e-5, 1e-3);

    public static IReadOnlyList<LaunchWarning> Lint(LintInput input)
    {
        var warnings = new List<LaunchWarning>();
        if (BatchNormWithSmallBatch(input) is { } bn) warnings.Add(bn);
        if (LearningRateTooHigh(input) is { } lr) warnings.Add(lr);
        if (InputSizeFarFromPretraining(input) is { } size) warnings.Add(size);
        if (FewExamplesForTrainedParameters(input) is { } few) warnings.Add(few);
        warnings.AddRange(AugmentationAgainstProfile(input));
        return warnings;
    }

    public static LaunchWarning? BatchNormWithSmallBatch(LintInput input)
    {
        var b = input.Request.HyperParameters.BatchSize;
        if (input.Map is not { GradientTraining: true } map || b >= MinBatchForBatchNorm) return null;
        var training = map.Rows.Where(r => r.BatchNorm is ModuleMode.Train or ModuleMode.Mixed).Select(r => r.Name).ToList();
        if (training.Count == 0) return null;
        return new LaunchWarning("batchnorm-small-batch", "HyperParameters.BatchSize",
            $"BatchNorm trains with batches of {b} in {Names(training)}: each step normalises with the mean and variance of {b} examples " +
            $"and updates the running statistics from them. Use a batch of at least {MinBatchForBatchNorm}, or a strategy that keeps these stages frozen (BatchNorm in inference mode).",
            "Batch statistics of few examples are noisy, so training normalises each batch differently from the running statistics " +
            "that evaluation uses. Wu & He (2018, Group Normalization, Figure 1) show BatchNorm's ImageNet error rising quickly as the " +
            "batch per worker shrinks below 16; at 2 images per batch GroupNorm's error was 10.6 points lower than BatchNorm's.");
    }

    public static LaunchWarning? LearningRateTooHigh(LintInput input)
    {
        var h = input.Request.HyperParameters;
        if (input.Map is not { GradientTraining: true } map) return null;
        var pretrained = map.Rows.Where(r => r.Pretrained && !r.Frozen && r.LearningRate is not null).ToList();
        if (pretrained.Count == 0) return null;
        var (low, high) = UsualRange(h.Optimizer);
        var top = pretrained.MaxBy(r => r.LearningRate!.Value)!;
        if (top.LearningRate!.Value <= LearningRateFactor * high) return null;
        var over = pretrained.Where(r => r.LearningRate!.Value > LearningRateFactor * high).Select(r => r.Name).ToList();
        var name = h.Optimizer == OptimizerKind.Sgd ? "SGD" : "AdamW";
        return new LaunchWarning("learning-rate-high", "HyperParameters.LearningRate",
            $"Pretrained stages train at up to {G(top.LearningRate.Value)} ({top.Name}), more than {LearningRateFactor:0}x the top of {name}'s usual " +
            $"fine-tuning range ({G(low)} to {G(high)}); over the line: {Names(over)}. Lower the learning rate, or the layer-wise decay.",
            "Fine-tuning starts from weights that already solve a related task; large steps move them far from it in the first " +
            "updates and the run learns the new task from a damaged start (catastrophic forgetting of the pretrained features). " +
            $"Fine-tuning recipes use peak rates of {G(low)} to {G(high)} for {name}.");
    }

    public static LaunchWarning? InputSizeFarFromPretraining(LintInput input)
    {
        var size = input.Request.HyperParameters.ImageSize;
        if (input.PretrainedInputSize is not { } pre || pre <= 0 || size == 0 || !input.StartsFromPretrainedWeights) return null;
        if (size * InputSizeFactor >= pre && size <= pre * InputSizeFactor) return null;
        var ratio = (double)size / pre;
        return new LaunchWarning("input-size-far", "HyperParameters.ImageSize",
            $"Input {size} px is {ratio.ToString("0.##", CultureInfo.InvariantCulture)}x the {pre} px the weights were pretrained at " +
            $"(more than {InputSizeFactor:0}x {(ratio < 1 ? "smaller" : "larger")}).",
            "Convolution kernels and pooling learnt the size objects had at the pretraining resolution; far from it the same object " +
            "covers a very different share of each receptive field and the deepest stages see few spatial positions (7x7 at 224 px " +
            "becomes 1x1 at 32 px on a ResNet), so the pretrained features transfer less well (Touvron et al. 2019, Fixing the " +
            "train-test resolution discrepancy). Smaller inputs are faster on a CPU; expect lower accuracy than at the model's own size.");
    }

    /// <summary>The labelled examples a run learns from: each class's training examples cut to the label budget, then
    /// the training limit (the order <see cref="Training.TrainingSelection.Select"/> applies them in).</summary>
    public static int LabelledTrainingExamples(DatasetInfo d, HyperParameters h)
    {
        var (counts, _) = d.TrainingClassCounts();
        long n = h.LabelsPerClass is > 0 and var k ? counts.Sum(c => (long)Math.Min(c, k)) : counts.Sum(c => (long)c);
        if (counts.Count == 0) n = d.Splits.Train;
        if (h.TrainLimit > 0) n = Math.Min(n, h.TrainLimit);
        return (int)n;
    }

    public static LaunchWarning? FewExamplesForTrainedParameters(LintInput input)
    {
        if (input.Map is not { GradientTraining: true } map || map.TrainedParameters == 0) return null;
        var examples = LabelledTrainingExamples(input.Dataset, input.Request.HyperParameters);
        var perExample = examples == 0 ? double.PositiveInfinity : (double)map.TrainedParameters / examples;
        if (perExample <= ParametersPerExample) return null;
        return new LaunchWarning("few-examples", null,
            $"{map.TrainedParameters:N0} parameters train on {examples:N0} labelled examples: {perExample.ToString("N0", CultureInfo.InvariantCulture)} parameters per example " +
            $"(the linter speaks above {ParametersPerExample:N0}). Freeze more stages (partial fine-tuning at a greater depth, or feature extraction), " +
            "or give the run more labels.",
            "The fewer examples per trained parameter, the easier it is for the trained layers to memorise the training set rather than " +
            "learn the classes; with few labels, training fewer layers on top of frozen pretrained features usually generalises better " +
            "(Yosinski et al. 2014; Kornblith et al. 2019 found fine-tuning's gain over a linear probe shrinking on small datasets).");
    }

    /// <summary>The run's own augmentation (an override) against the dataset's profile: flips the profile forbids, a
    /// rotation or a crop beyond what it allows.</summary>
    public static IEnumerable<LaunchWarning> AugmentationAgainstProfile(LintInput input)
    {
        var h = input.Request.HyperParameters;
        if (!h.Augment || h.Augmentation is not { } own || input.Dataset.Modality != DatasetModality.Image) yield break;
        var profile = AugmentationProfile.For(input.Dataset);
        var d = input.Dataset.Title is { Length: > 0 } t ? t : input.Dataset.Id;
        if (own.HorizontalFlip && !profile.HorizontalFlip)
            yield return new LaunchWarning("augmentation-flip", "HyperParameters.Augmentation.HorizontalFlip",
                $"The run flips images, and the profile of {d} forbids flips.",
                "A mirrored image of a class that is not mirror-symmetric (a digit, a letter, an arrow, a left hand) is another class or " +
                "none, so the flip teaches wrong labels; the dataset's owner said its classes change under a mirror.");
        if (own.MaxRotationDegrees > profile.MaxRotationDegrees)
            yield return new LaunchWarning("augmentation-rotation", "HyperParameters.Augmentation.MaxRotationDegrees",
                $"The run rotates by up to ±{G(own.MaxRotationDegrees)}°, and the profile of {d} allows ±{G(profile.MaxRotationDegrees)}°.",
                "Orientation can be the class (6 and 9, arrows, upright scenes); a rotation beyond what the data shows turns examples into " +
                "other classes or into images no test example looks like, and fills the corners with black.");
        if (own.MinCropScale < profile.MinCropScale)
            yield return new LaunchWarning("augmentation-crop", "HyperParameters.Augmentation.MinCropScale",
                $"The run crops down to {own.MinCropScale.ToString("P0", CultureInfo.InvariantCulture)} of the image's area, and the profile of {d} " +
                $"keeps at least {profile.MinCropScale.ToString("P0", CultureInfo.InvariantCulture)}.",
                "A crop smaller than the subject keeps a fragment (a stroke of a digit) that no longer shows its class, so the model learns " +
                "labels for fragments; the profile's smallest crop is the one that keeps the subject whole.");
    }

    static string Names(IReadOnlyList<string> names) =>
        names.Count <= 4 ? string.Join(", ", names) : $"{string.Join(", ", names.Take(3))} and {names.Count - 3} more";

    static string G(double v) => v.ToString("G3", CultureInfo.InvariantCulture);
}
