namespace ModelZoo.Core.Runs.Plan;

/// <summary>Whether modules train (BatchNorm with batch statistics, dropout on) or infer (running statistics,
/// dropout off); Mixed when a stage holds both.</summary>
public enum ModuleMode { Train, Eval, Mixed }

/// <summary>
/// What a run would train, read from the real module and the real strategy before launch (the Torch side builds it
/// on the meta device and lets the strategy freeze, group and switch modes as it does in a run): one row per stage of
/// the model, stem first and head last, then one per module the strategy adds (a domain classifier). It shows
/// epoch 1; <see cref="Schedule"/> says how later epochs differ.
/// </summary>
/// <param name="Architecture">The architecture the run trains (a masked-LM entry trains its classifier sibling).</param>
/// <param name="GradientTraining">False when the strategy takes no gradient steps (few-shot prototypes): every row
/// is frozen.</param>
/// <param name="BaseLearningRate">The run's base rate (the head's peak rate before any layer-wise decay).</param>
/// <param name="Schedule">Which stages are frozen in which epochs, when that changes during the run (gradual
/// unfreezing); empty when every epoch trains as epoch 1 does.</param>
public sealed record TrainingMap(
    string Architecture,
    bool GradientTraining,
    double BaseLearningRate,
    IReadOnlyList<MapRow> Rows,
    IReadOnlyList<FrozenSpan> Schedule)
{
    /// <summary>Parameters that learn in epoch 1 (in one of the optimiser's groups and needing a gradient).</summary>
    public long TrainedParameters => Rows.Sum(r => r.TrainedParameters);
    public long TotalParameters => Rows.Sum(r => r.Parameters);
}

/// <param name="Name">The stage's name (<c>layer3</c>, <c>encoder.layer.4</c>, <c>head</c>) or the extra module's.</param>
/// <param name="Extra">A module the strategy adds beside the model (not part of the saved model).</param>
/// <param name="Pretrained">Its starting weights come from the entry's pretrained weights (the backbone's stages when
/// the strategy loads them and the entry has them); the head is new, and so is every extra module.</param>
/// <param name="LearningRateScale">The multiple of the base rate of the optimiser's group holding this row; null when
/// no group holds it.</param>
/// <param name="BatchNorm">The mode of the row's BatchNorm layers; null when it has none.</param>
public sealed record MapRow(
    string Name,
    bool Extra,
    bool Pretrained,
    long Parameters,
    long TrainedParameters,
    double? LearningRateScale,
    double? LearningRate,
    ModuleMode Mode,
    ModuleMode? BatchNorm)
{
    /// <summary>No parameter of the row learns (rows without parameters count as frozen: nothing there changes).</summary>
    public bool Frozen => TrainedParameters == 0;
    public bool PartlyTrained => TrainedParameters > 0 && TrainedParameters < Parameters;
}

/// <summary>Epochs <paramref name="From"/> to <paramref name="To"/> (1-based, inclusive) keep these stages frozen.</summary>
public sealed record FrozenSpan(int From, int To, IReadOnlyList<string> Frozen);

/// <summary>A pitfall found before launch, with the reason it matters. Warnings never block a launch.</summary>
/// <param name="Code">Stable id of the rule (<c>batchnorm-small-batch</c>, ...).</param>
/// <param name="Field">The request field it is about, as the validation errors name fields; null: the whole run.</param>
public sealed record LaunchWarning(string Code, string? Field, string Message, string Reason);

/// <summary>The answer of a plan: the map (null, with <see cref="MapUnavailable"/> saying why, when the model could
/// not be built or the strategy could not plan) and the warnings.</summary>
public sealed record RunPlan(TrainingMap? Map, string? MapUnavailable, IReadOnlyList<LaunchWarning> Warnings);
