using ModelZoo.Core.Training;

namespace ModelZoo.Core.Recommender;

/// <summary>What a user asks: which backbone on this machine suits a dataset, within a latency budget.</summary>
public sealed record RecommendRequest
{
    public string DatasetId { get; init; } = "";
    /// <summary>Milliseconds for one input (the median latency measured on this machine at batch 1, as the catalogue
    /// shows it); null: no budget, every backbone is in.</summary>
    public double? LatencyBudgetMs { get; init; }
    /// <summary>Training examples per class the linear probe learns from; as many per class (where the split holds them)
    /// are scored. 2 to 500.</summary>
    public int ExamplesPerClass { get; init; } = 20;
    /// <summary>Side of the square input; 0: each model's own.</summary>
    public int ImageSize { get; init; }
    public int Seed { get; init; } = 1;

    public const int MinExamplesPerClass = 2, MaxExamplesPerClass = 500;
}

/// <summary>What a linear probe on one backbone's frozen features found.</summary>
/// <param name="Accuracy">On the scored subset (the dataset's test split, stratified).</param>
/// <param name="Extracted">Examples the backbone embedded now; the rest came from the feature cache.</param>
public sealed record ProbeMeasure(double Accuracy, int Trained, int Scored, int FeatureWidth, int Extracted, double Seconds);

/// <summary>One backbone's line in the report.</summary>
/// <param name="LatencyMs">The median of the latest latency measurement on this machine; null when it was never measured.</param>
/// <param name="Error">Why the backbone could not be probed (files missing, a load error); it then has no accuracy.</param>
public sealed record BackboneScore(string ModelId, string Architecture, long Parameters, ProbeMeasure? Probe, double? LatencyMs,
    int? LatencyBatch, bool LatencyTakenOnABusyMachine, string? Error)
{
    /// <summary>1 for the recommendation; null for a backbone outside the budget or without a probe.</summary>
    public int? Rank { get; init; }
    /// <summary>No other backbone is at least as accurate and at least as fast, and better in one of the two.</summary>
    public bool OnParetoFront { get; init; }
    /// <summary>Null where there is no budget or the latency was never measured.</summary>
    public bool? WithinBudget { get; init; }
}

public enum RecommendationState { Queued, Running, Succeeded, Failed, Cancelled }

/// <summary>A recommendation, while it runs (<see cref="Progress"/> 0-1 over the backbones) and once done.</summary>
public sealed record Recommendation(Guid Id, RecommendRequest Request, RecommendationState State, string Message, double Progress,
    IReadOnlyList<BackboneScore> Scores, string Device, DateTimeOffset QueuedAt, DateTimeOffset? FinishedAt, IReadOnlyList<string> Notes)
{
    public bool IsActive => State is RecommendationState.Queued or RecommendationState.Running;
    /// <summary>The top-ranked backbone, if any was probed within the budget.</summary>
    public BackboneScore? Best => Scores.FirstOrDefault(s => s.Rank == 1);
}

/// <summary>Embeds the chosen examples with a backbone (its starting weights, a run's preprocessing, through the feature
/// cache) and fits a linear probe. Implemented with TorchSharp in ModelZoo.Torch.</summary>
public interface IBackboneProbe
{
    /// <param name="job">A feature-extraction job of the model on the dataset.</param>
    /// <param name="train">Dataset indices the probe learns from.</param>
    /// <param name="scored">Dataset indices it is scored on.</param>
    /// <param name="progress">Receives a line now and then while the backbone embeds.</param>
    ProbeMeasure Probe(TrainingJob job, int[] train, int[] scored, int seed, Action<string>? progress, CancellationToken ct);
}
