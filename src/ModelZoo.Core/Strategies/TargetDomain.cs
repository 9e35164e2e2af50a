namespace ModelZoo.Core.Strategies;

/// <summary>Rules that every strategy adapting to an unlabelled target shares.</summary>
internal static class TargetDomain
{
    /// <summary>The target must have training images to adapt to; the validator has already checked that it exists
    /// and that its classes are the labelled dataset's. Facts without split sizes (all zero) are not judged.</summary>
    public static IEnumerable<OptionProblem> Problems(StrategyCheckContext context, string title, int minimum)
    {
        if (context.Target is { } t && t.Splits is { } s && s.Train + s.Validation + s.Test > 0 && s.Train < minimum)
            yield return new OptionProblem("TargetDatasetId",
                $"{title} learns from the target's training images without their labels, and '{t.Id}' has {t.Splits.Train} " +
                $"(at least {minimum} needed).");
    }
}
