namespace ModelZoo.Infrastructure.Datasets;

/// <summary>One reason an upload was refused: the file (path inside the archive, or the upload itself) and why.</summary>
public sealed record UploadProblem(string File, string Reason)
{
    public override string ToString() => string.IsNullOrEmpty(File) ? Reason : $"{File}: {Reason}";
}

/// <summary>An uploaded dataset was refused; nothing of it was kept. <see cref="Problems"/> lists each file and reason.</summary>
public sealed class DatasetRejectedException(IReadOnlyList<UploadProblem> problems)
    : Exception(problems.Count == 1 ? $"Upload rejected: {problems[0]}"
        : $"Upload rejected ({problems.Count} problems): {string.Join("; ", problems.Take(5))}{(problems.Count > 5 ? "; …" : "")}")
{
    public IReadOnlyList<UploadProblem> Problems { get; } = problems;

    public DatasetRejectedException(string file, string reason) : this([new UploadProblem(file, reason)]) { }
}
