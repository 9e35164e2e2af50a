using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using ModelZoo.Core.Datasets;
using ModelZoo.Infrastructure.Datasets;
using ModelZoo.Infrastructure.Storage;

namespace ModelZoo.Infrastructure.Tests.Datasets;

/// <summary>
/// Text-table uploads: a good CSV and TSV are stored; the bad-input corpus (<see cref="BadTables"/>, generated here)
/// is refused with the row and reason, and nothing is left in the datasets folder.
/// </summary>
public class TextTableImporterTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("mz-txtup-").FullName;
    readonly ZooPaths _paths;
    readonly DatasetStore _store;

    public TextTableImporterTests()
    {
        _paths = new ZooPaths(new StorageOptions { DataDir = Path.Combine(_dir, "data") }, _dir);
        _store = new DatasetStore(_paths);
    }

    TextTableImporter Importer(Action<TextUploadOptions>? configure = null)
    {
        var o = new TextUploadOptions();
        configure?.Invoke(o);
        return new TextTableImporter(_store, Options.Create(o), BuiltInDatasets.All, NullLogger<TextTableImporter>.Instance);
    }

    Task<DatasetInfo> Import(byte[] file, string fileName = "reviews.csv", string text = "review", string label = "label",
        string name = "Reviews", Action<TextUploadOptions>? configure = null) =>
        Importer(configure).ImportAsync(new MemoryStream(file), fileName, file.Length, text, label, new UploadDetails(name, "CC0-1.0"), CancellationToken.None);

    void DataFolderIsClean() =>
        (Directory.Exists(_paths.DatasetsDir) ? Directory.EnumerateFileSystemEntries(_paths.DatasetsDir) : []).ShouldBeEmpty();

    /// <summary>A good table: a header, then <paramref name="perClass"/> rows of each class, with quoted commas,
    /// quotes and newlines in the texts.</summary>
    static string GoodCsv(int perClass = 10, string[]? classes = null)
    {
        var sb = new StringBuilder("id,review,label\r\n");
        int id = 0;
        foreach (var c in classes ?? ["neg", "pos"])
            for (int i = 0; i < perClass; i++, id++)
                sb.Append($"{id},\"{c} review {i}, with a comma, \"\"quotes\"\" and\na newline\",{c}\r\n");
        return sb.ToString();
    }

    static byte[] Utf8(string s) => Encoding.UTF8.GetBytes(s);

    [Fact]
    public async Task Inspect_ListsTheColumns_ThePreviewRows_AndSuggestsTextAndLabel()
    {
        var preview = await Importer().InspectAsync(new MemoryStream(Utf8(GoodCsv())), "reviews.csv", null, CancellationToken.None);

        preview.Columns.ShouldBe(["id", "review", "label"]);
        preview.Delimiter.ShouldBe("comma");
        preview.Rows.ShouldBe(20);
        preview.Preview.Count.ShouldBe(10);
        preview.Preview[0][1].ShouldBe("neg review 0, with a comma, \"quotes\" and\na newline");
        preview.SuggestedTextColumn.ShouldBe("review");
        preview.SuggestedLabelColumn.ShouldBe("label");
        DataFolderIsClean();
    }

    [Fact]
    public async Task Import_StoresQuotedTextsExactly_WithSortedClassesAndAStratifiedSplit()
    {
        var info = await Import(Utf8(GoodCsv(perClass: 20, classes: ["pos", "neg", "mixed"])));

        info.Id.ShouldBe("reviews");
        info.Modality.ShouldBe(DatasetModality.Text);
        info.Origin.ShouldBe(DatasetOrigin.Upload);
        info.ClassNames.ShouldBe(["mixed", "neg", "pos"]);
        info.ClassCounts.ShouldBe([20, 20, 20]);
        info.License.ShouldBe("CC0-1.0");
        info.Provenance.ShouldContain("text column 'review', label column 'label'");
        info.Source!.Sha256.Length.ShouldBe(64);
        var loaded = _store.Load("reviews");
        loaded.Texts!.Texts[0].ShouldBe("pos review 0, with a comma, \"quotes\" and\na newline");
        loaded.Texts.Labels[0].ShouldBe(2);
        loaded.Split.Test.Count(i => loaded.Texts.Labels[i] == 1).ShouldBe(3, "each class keeps its 15 % share of the test split");
        Directory.EnumerateFileSystemEntries(_paths.DatasetsDir).Select(Path.GetFileName).ShouldBe(["reviews"], "the temp upload is gone");
    }

    [Fact]
    public async Task Import_ReadsTsv_WithAByteOrderMark_AndLabelsTrimmed()
    {
        var tsv = "\uFEFFtext\tcategory\n" + string.Join("", Enumerable.Range(0, 8).Select(i => $"sentence {i} with, commas\t {(i % 2 == 0 ? "a" : "b")} \n"));
        var info = await Import(Utf8(tsv), "s.tsv", "text", "category", "Sentences");
        info.ClassNames.ShouldBe(["a", "b"]);
        _store.Load("sentences").Texts!.Texts[3].ShouldBe("sentence 3 with, commas");
    }

    /// <summary>The bad-input corpus: each file, and the words its refusal must contain.</summary>
    public static TheoryData<string, byte[], string> BadTables()
    {
        var good = GoodCsv();
        var latin1 = Encoding.Latin1.GetBytes("id,review,label\n1,caf\u00e9 ok,pos\n2,fine,neg\n");
        var d = new TheoryData<string, byte[], string>
        {
            { "not UTF-8 (Latin-1 é)", latin1, "is not valid UTF-8: byte offset 21 (line 2) starts with 0xE9" },
            { "UTF-8 cut inside a character", [.. Utf8(good), 0xC3], "ends inside a multi-byte character at byte offset" },
            { "UTF-16", [0xFF, 0xFE, .. Encoding.Unicode.GetBytes("id,review,label\n")], "UTF-16" },
            { "missing label", Utf8(good + "99,orphan text,\r\n"), "row 21 (line 42): has no label (column 'label' is empty)" },
            { "missing text", Utf8(good + "99,  ,pos\r\n"), "row 21 (line 42): has no text (column 'review' is empty)" },
            { "ragged row", Utf8(good + "99,a text, with an unquoted comma,pos\r\n"), "row 21 (line 42): has 4 fields; the header has 3 (ragged row" },
            { "single-example class", Utf8(good + "99,a lonely text,meh\r\n"), "class 'meh' has 1 row: row 21 (line 42); each class needs at least 2" },
            { "one class", Utf8("review,label\nfirst,pos\nsecond,pos\n"), "has one class ('pos') in column 'label'; a classifier needs at least 2" },
            { "quote never closed", Utf8(good + "99,\"open quote,pos\r\n"), "the quoted field 2 opened on line 42 is never closed" },
            { "text after closing quote", Utf8(good + "99,\"quoted\" tail,pos\r\n"), "row 21 (line 42): field 2 has text after its closing quote" },
            { "header only", Utf8("id,review,label\n"), "has a header but no rows" },
            { "empty file", [], "is empty; expected a header row" },
            { "one column", Utf8("review\nx\ny\n"), "has one column ('review')" },
            { "duplicate column names", Utf8("review,review,label\na,b,c\n"), "names the column 'review' 2 times" },
        };
        return d;
    }

    [Theory]
    [MemberData(nameof(BadTables))]
    public async Task Import_RefusesABadTable_WithTheRowAndReason_AndKeepsNothing(string what, byte[] file, string reason)
    {
        var e = await Should.ThrowAsync<DatasetRejectedException>(() => Import(file), what);
        string.Join("\n", e.Problems).ShouldContain(reason, Case.Sensitive, what);
        e.Problems.ShouldAllBe(p => p.ToString().StartsWith("reviews.csv") || p.File == "", "each problem names the file");
        DataFolderIsClean();
    }

    [Theory]
    [InlineData("neg", "row 21 (line 42): repeats the text of row 4 (line 8) (duplicate row")]
    [InlineData("pos", "row 21 (line 42): repeats the text of row 4 (line 8) with the label 'pos' instead of 'neg' (conflicting labels)")]
    public async Task Import_WithDuplicatesRefused_RefusesARepeatedText_NamingRowsAndLines(string label, string reason)
    {
        var file = Utf8(GoodCsv() + $"99,\"neg review 3, with a comma, \"\"quotes\"\" and\na newline\",{label}\r\n");
        var e = await Should.ThrowAsync<DatasetRejectedException>(() => Importer().ImportAsync(new MemoryStream(file), "reviews.csv", file.Length,
            "review", "label", new UploadDetails("Reviews", Duplicates: DuplicatePolicy.Refuse), CancellationToken.None));
        e.Problems.Single().ToString().ShouldContain(reason);
        DataFolderIsClean();
    }

    [Fact]
    public async Task Import_RefusesOverLongTexts_TooManyRows_AndTooLargeFiles_NamingTheSetting()
    {
        var big = Utf8(GoodCsv() + $"99,{new string('x', 501)},pos\r\n");
        (await Should.ThrowAsync<DatasetRejectedException>(() => Import(big, configure: o => o.MaxTextChars = 500)))
            .Problems.Single().ToString().ShouldBe("reviews.csv row 21 (line 42): has a text of 501 characters, over the limit of 500 (Datasets:TextUpload:MaxTextChars)");
        (await Should.ThrowAsync<DatasetRejectedException>(() => Import(Utf8(GoodCsv()), configure: o => o.MaxRows = 19)))
            .Message.ShouldContain("has more than 19 rows, the limit (Datasets:TextUpload:MaxRows)");
        (await Should.ThrowAsync<DatasetRejectedException>(() => Import(Utf8(GoodCsv()), configure: o => o.MaxUploadBytes = 100)))
            .Message.ShouldContain("over the upload limit of 0.1 KB (Datasets:TextUpload:MaxUploadBytes)");
        DataFolderIsClean();
    }

    [Fact]
    public async Task Import_ListsEveryProblem_HoweverMany()
    {
        var file = Utf8(GoodCsv() + string.Concat(Enumerable.Range(0, 30).Select(i => $"{100 + i},text {i},\r\n")));
        var e = await Should.ThrowAsync<DatasetRejectedException>(() => Import(file));
        e.Problems.Count.ShouldBe(30);
        e.Message.ShouldStartWith("Upload rejected (30 problems)");
        e.Problems.ShouldAllBe(p => p.Reason.Contains("has no label"));
    }

    [Fact]
    public async Task Import_RefusesAnUnknownColumn_ANameInUse_AndTheSameColumnTwice()
    {
        (await Should.ThrowAsync<DatasetRejectedException>(() => Import(Utf8(GoodCsv()), text: "body")))
            .Message.ShouldContain("has no column 'body' for the text; its columns are 'id', 'review', 'label'");
        (await Should.ThrowAsync<DatasetRejectedException>(() => Import(Utf8(GoodCsv()), text: "label")))
            .Message.ShouldContain("must be different columns");
        await Import(Utf8(GoodCsv()));
        (await Should.ThrowAsync<DatasetRejectedException>(() => Import(Utf8(GoodCsv()))))
            .Message.ShouldContain("exists already");
        (await Should.ThrowAsync<DatasetRejectedException>(() => Import(Utf8(GoodCsv()), name: "Spam Assassin")))
            .Message.ShouldContain("exists already", customMessage: "a built-in's id is taken too");
    }

    [Theory]
    [InlineData("a,b\n1,2\n", ',', new[] { "a|b", "1|2" })]
    [InlineData("a,b\r\n\"x,\r\ny\",\"\"\r\n\r\nlast,\"q\"\"\"", ',', new[] { "a|b", "x,\r\ny|", "last|q\"" })]
    [InlineData("a\tb\nsay \"hi\"\t2\n", '\t', new[] { "a|b", "say \"hi\"|2" })]
    [InlineData("a,b\n,\n", ',', new[] { "a|b", "|" })]
    public void DelimitedText_FollowsRfc4180(string text, char delimiter, string[] expected)
    {
        DelimitedText.Read(text, delimiter).Select(r => string.Join("|", r.Fields)).ShouldBe(expected);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
