namespace ModelZoo.Torch.Weights;

/// <summary>
/// A weights file that is corrupt, truncated, of an unsupported kind, or not safe to read. The message names the file
/// and the problem, so it can be shown to the user as it is. Readers throw this instead of returning a partial result.
/// </summary>
public sealed class WeightsFormatException : Exception
{
    public string Path { get; }

    public WeightsFormatException(string path, string problem, Exception? inner = null)
        : base($"{System.IO.Path.GetFileName(path)}: {problem}", inner) => Path = path;
}

/// <summary>
/// A state dict that does not fit a model (missing or unexpected keys, shape mismatches). Thrown before any tensor is
/// copied, so the model is left exactly as it was.
/// </summary>
public sealed class WeightsImportException : Exception
{
    public IReadOnlyList<string> Missing { get; }
    public IReadOnlyList<string> Unexpected { get; }
    public IReadOnlyList<string> Mismatched { get; }

    public WeightsImportException(string message, IReadOnlyList<string>? missing = null,
        IReadOnlyList<string>? unexpected = null, IReadOnlyList<string>? mismatched = null) : base(message)
    {
        Missing = missing ?? [];
        Unexpected = unexpected ?? [];
        Mismatched = mismatched ?? [];
    }
}
