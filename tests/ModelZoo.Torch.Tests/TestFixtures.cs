namespace ModelZoo.Torch.Tests;

/// <summary>
/// Locates the repository root and the reference fixtures committed under <c>tests/fixtures</c> (see its README.md).
/// Tests read nothing outside the repository.
/// </summary>
public static class TestFixtures
{
    public static string RepoRoot { get; } = FindRepoRoot();

    public static string Dir => Path.Combine(RepoRoot, "tests", "fixtures");

    public static string PathOf(string file)
    {
        var p = Path.Combine(Dir, file);
        if (!File.Exists(p))
            throw new FileNotFoundException(
                $"Test fixture missing: {p}. The reference fixtures are committed under tests/fixtures " +
                "(listed in tests/fixtures/README.md); restore the file from git.", p);
        return p;
    }

    static string FindRepoRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "ModelZoo.sln"))) return d.FullName;
        throw new InvalidOperationException("ModelZoo.sln not found above " + AppContext.BaseDirectory);
    }
}
