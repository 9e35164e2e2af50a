using System.Text.RegularExpressions;
using ModelZoo.Torch.Weights;

namespace ModelZoo.Torch.Tests;

/// <summary>The committed fixtures: found inside the repository, each one described in its README, a missing one named.</summary>
public class TestFixturesTests
{
    [Fact]
    public void Dir_IsInsideTheRepository()
    {
        Path.GetRelativePath(TestFixtures.RepoRoot, TestFixtures.Dir).ShouldBe(Path.Combine("tests", "fixtures"));
        Directory.Exists(TestFixtures.Dir).ShouldBeTrue();
    }

    [Fact]
    public void PathOf_AMissingFile_NamesItAndWhereFixturesLive()
    {
        var e = Should.Throw<FileNotFoundException>(() => TestFixtures.PathOf("no_such_fixture.safetensors"));
        e.FileName.ShouldBe(Path.Combine(TestFixtures.Dir, "no_such_fixture.safetensors"));
        e.Message.ShouldContain(Path.Combine(TestFixtures.Dir, "no_such_fixture.safetensors"));
        e.Message.ShouldContain("tests/fixtures");
    }

    /// <summary>The README's SHA-256 block lists exactly the files in the folder, with their current hashes.</summary>
    [Fact]
    public void Readme_ListsEveryFixture_WithItsSha256()
    {
        var readme = File.ReadAllText(Path.Combine(TestFixtures.Dir, "README.md"));
        var listed = Regex.Matches(readme, @"^([0-9a-f]{64})  (\S+)$", RegexOptions.Multiline)
            .ToDictionary(m => m.Groups[2].Value, m => m.Groups[1].Value);
        var files = Directory.GetFiles(TestFixtures.Dir).Select(Path.GetFileName).Where(f => f != "README.md").Order().ToList();

        listed.Keys.Order().ShouldBe(files!);
        foreach (var f in files) Sha256.OfFile(TestFixtures.PathOf(f!)).ShouldBe(listed[f!], f);
    }
}
