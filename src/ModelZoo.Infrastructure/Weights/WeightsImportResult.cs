namespace ModelZoo.Infrastructure.Weights;

/// <summary>Why an import was refused; the API maps each to a status code.</summary>
public enum WeightsImportFailure
{
    /// <summary>No catalogue entry has this id.</summary>
    UnknownEntry,
    /// <summary>The entry's manifest has no <c>weights</c> section, so there is no file to import.</summary>
    NoWeightsSection,
    /// <summary>The upload is over <see cref="WeightsOptions.MaxUploadBytes"/>.</summary>
    TooLarge,
    /// <summary>Empty, corrupt, truncated, or not the format the entry names.</summary>
    UnreadableFile,
    /// <summary>The sha256 differs from the published hash or hash prefix.</summary>
    HashMismatch,
    /// <summary>Missing or unexpected keys, or shape mismatches outside the classifier.</summary>
    DoesNotFit,
    /// <summary>Another import of the same entry is in progress.</summary>
    Busy,
}

/// <summary>How far an import has got; <see cref="Bytes"/> counts what was received and hashed so far.</summary>
public sealed record WeightsImportProgress(WeightsImportStage Stage, long Bytes, long? TotalBytes);

public enum WeightsImportStage { Receiving, Validating, Storing }

/// <summary>
/// The outcome of one import: on success the stored record, on failure a message that names the file and the reason
/// (fit for the user as it is) and, when the checkpoint does not fit, the importer's key lists.
/// </summary>
public sealed record WeightsImportResult
{
    public bool Ok => Imported is not null;
    public ImportedWeights? Imported { get; init; }
    public WeightsImportFailure? Failure { get; init; }
    public string? Error { get; init; }
    public IReadOnlyList<string> Missing { get; init; } = [];
    public IReadOnlyList<string> Unexpected { get; init; } = [];
    public IReadOnlyList<string> Mismatched { get; init; } = [];

    public static WeightsImportResult Success(ImportedWeights imported) => new() { Imported = imported };
    public static WeightsImportResult Refused(WeightsImportFailure failure, string error) => new() { Failure = failure, Error = error };
}
