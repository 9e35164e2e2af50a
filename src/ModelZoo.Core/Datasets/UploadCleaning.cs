namespace ModelZoo.Core.Datasets;

/// <summary>
/// What an upload does with exact duplicates: <see cref="Drop"/> keeps the first copy of each group of identical
/// examples (same bytes, or same text and label), drops every copy of a group whose copies disagree on the label,
/// and records each dropped example in the facts; <see cref="Refuse"/> refuses the upload, listing every group.
/// Drop is the default: real collections have copies (an icon theme ships the same icon under several names), a
/// refusal leaves the uploader editing an archive by hand, and nothing is dropped silently.
/// </summary>
public enum DuplicatePolicy { Drop, Refuse }

/// <summary>What the upload's checks removed and found, kept in the dataset's facts and shown on its page.</summary>
/// <param name="ExactDuplicatesDropped">Copies of a kept example (the first of each group stays).</param>
/// <param name="ConflictGroupsDropped">Groups of identical examples filed under more than one label; every copy goes.</param>
/// <param name="ConflictExamplesDropped">The examples in those groups.</param>
/// <param name="Dropped">Every dropped example (file path or row) and why, in upload order.</param>
/// <param name="NearDuplicates">Validation and test examples that look like a training example (images only; null
/// for text, which is not checked).</param>
public sealed record UploadCleaning(
    DuplicatePolicy Policy,
    int ExactDuplicatesDropped,
    int ConflictGroupsDropped,
    int ConflictExamplesDropped,
    IReadOnlyList<DroppedExample> Dropped,
    NearDuplicateReport? NearDuplicates = null)
{
    public int TotalDropped => ExactDuplicatesDropped + ConflictExamplesDropped;

    /// <summary>One clause for the provenance line, or "" when nothing was dropped.</summary>
    public string Summary(string examples) => TotalDropped == 0 ? "" :
        $"{ExactDuplicatesDropped} exact duplicate {examples} and {ConflictGroupsDropped} conflicting-label group{(ConflictGroupsDropped == 1 ? "" : "s")} "
        + $"({ConflictExamplesDropped} {examples}) dropped at upload";
}

/// <summary>A dropped example: the file inside the archive or the table row, why it went, and the kept copy it
/// repeats (null when the whole group was dropped).</summary>
public sealed record DroppedExample(string Item, string Reason, string? KeptCopy = null);

/// <summary>
/// Validation and test images whose perceptual hash equals a training image's: the same picture resized or
/// re-encoded, which lets a model score on a test image it has effectively trained on. Reported, not dropped.
/// </summary>
/// <param name="Method">How images were compared, in a sentence.</param>
/// <param name="TestMatched">Test images with at least one training look-alike.</param>
/// <param name="ValidationMatched">Validation images with at least one training look-alike.</param>
/// <param name="Unhashed">Images too plain to compare (no left-to-right brightness change at 9x8).</param>
/// <param name="Examples">Up to <see cref="MaxExamples"/> pairs, test pairs first.</param>
public sealed record NearDuplicateReport(
    string Method, int TestMatched, int ValidationMatched, int Unhashed, IReadOnlyList<NearDuplicatePair> Examples)
{
    public const int MaxExamples = 100;
}

/// <summary>One held-out image and a training image with the same hash, by stored index and original file name.</summary>
public sealed record NearDuplicatePair(DatasetSplit Split, int Index, string File, int TrainIndex, string TrainFile, bool SameLabel);
