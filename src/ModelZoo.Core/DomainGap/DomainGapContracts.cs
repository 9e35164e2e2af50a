using ModelZoo.Core.Training;

namespace ModelZoo.Core.DomainGap;

/// <summary>How far apart two domains are on a backbone's features.</summary>
/// <param name="ProxyADistance">Ben-David et al.'s proxy A-distance 2(1 − 2ε), ε the held-out error of a linear domain
/// classifier: 0 when it cannot tell the domains apart (ε = 0.5), 2 when it always can. Reported as measured: a value
/// below 0 (ε above 0.5, chance on a small sample) means no detectable gap.</param>
/// <param name="DomainClassifierError">ε, on the held-out half of each domain, balanced over the two.</param>
/// <param name="Mmd2">The unbiased estimate of the squared maximum mean discrepancy (Gretton et al. 2012) with a Gaussian
/// kernel; about 0 for one distribution, larger for distributions further apart (at most 2 for this kernel).</param>
/// <param name="Bandwidth">The kernel's σ: the median distance between the pooled examples (the median heuristic).</param>
public sealed record DomainGapMeasures(double ProxyADistance, double DomainClassifierError, double Mmd2, double Bandwidth,
    int SourceExamples, int TargetExamples, int Dim);

/// <summary>What a user asks to measure: a backbone (a catalogue entry, with its starting weights) and two datasets.</summary>
public sealed record DomainGapRequest
{
    public string ModelId { get; init; } = "";
    public string SourceDatasetId { get; init; } = "";
    public string TargetDatasetId { get; init; } = "";
    /// <summary>Training examples drawn from each domain (stratified by nothing: a seeded sample); 50 to 2,000.</summary>
    public int Examples { get; init; } = 500;
    public int Seed { get; init; } = 1;
    /// <summary>Side of the square input; 0: the model's own.</summary>
    public int ImageSize { get; init; }

    public const int MinExamples = 50, MaxExamples = 2000;
}

/// <summary>A measured gap and what it was measured on.</summary>
public sealed record DomainGapReport(DomainGapRequest Request, DomainGapMeasures Measures, string Device, double Seconds,
    IReadOnlyList<string> Notes);

/// <summary>Embeds both domains with the backbone (through the feature cache, as feature extraction does) and measures
/// the gap. Implemented with TorchSharp in ModelZoo.Torch.</summary>
public interface IDomainGapProbe
{
    /// <param name="source">A job on the source dataset with the model and its starting weights (feature extraction).</param>
    /// <param name="target">The same on the target dataset.</param>
    DomainGapMeasures Measure(TrainingJob source, TrainingJob target, int examples, int seed, CancellationToken ct);
}
