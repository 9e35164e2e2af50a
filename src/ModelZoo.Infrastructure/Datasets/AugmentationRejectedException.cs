namespace ModelZoo.Infrastructure.Datasets;

/// <summary>An augmentation profile was refused and the dataset's facts were left as they were. <see cref="Errors"/>
/// names each field (<c>MinCropScale</c>, <c>MaxRotationDegrees</c>, <c>ColorJitter</c>) with its reason, so a form
/// can show each message under its field.</summary>
public sealed class AugmentationRejectedException(IReadOnlyDictionary<string, string> errors)
    : ArgumentException("The augmentation profile is invalid: " + string.Join(" ", errors.Values))
{
    public IReadOnlyDictionary<string, string> Errors { get; } = errors;
}
