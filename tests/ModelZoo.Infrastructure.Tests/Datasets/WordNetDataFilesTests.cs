using System.Text;
using ModelZoo.Infrastructure.Datasets;

namespace ModelZoo.Infrastructure.Tests.Datasets;

public class WordNetDataFilesTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("mz-wn-").FullName;

    internal const string Header = "  1 This software and database is being provided to you, the LICENSEE, by  \n"
        + "  2 Princeton University under the following license.  \n";

    // Real WordNet 3.0 lines (a noun with pointers, a verb with frames, a satellite adjective, an adverb), shortened
    // where the pointer list allows it.
    internal const string Noun = "00001740 03 n 01 entity 0 003 ~ 00001930 n 0000 ~ 00002137 n 0000 ~ 04431553 n 0000 | that which is perceived or known or inferred to have its own distinct existence (living or nonliving)  \n";
    internal const string Verb = "00002325 29 v 01 respire 1 005 $ 00001740 v 0000 @ 02108395 v 0000 + 03110323 a 0101 + 00831191 n 0103 + 00830811 n 0101 01 + 02 00 | undergo the biomedical and metabolic processes of respiration by taking up oxygen and producing carbon monoxide  \n";
    internal const string Adj = "00002312 00 s 02 abaxial 0 dorsal 4 002 ;c 06037666 n 0000 !  00002527 a 0101 | facing away from the axis of an organ or organism; \"the abaxial surface of a leaf is the underside or side facing away from the stem\"  \n";
    internal const string Adv = "00001740 02 r 01 a_cappella 0 000 | without musical accompaniment; \"they performed a cappella\"  \n";

    [Fact]
    public void Parse_ReadsOffsetLexFileTypeWordsAndGloss_AndSkipsTheLicenceHeader()
    {
        var synsets = WordNetDataFiles.Parse("data.test", Header + Noun + Verb + Adj + Adv);

        synsets.Count.ShouldBe(4);
        synsets[0].ShouldSatisfyAllConditions(
            s => s.Offset.ShouldBe(1740),
            s => s.LexFile.ShouldBe(3),
            s => s.SsType.ShouldBe('n'),
            s => s.Words.ShouldBe(["entity"]),
            s => s.Gloss.ShouldBe("that which is perceived or known or inferred to have its own distinct existence (living or nonliving)"));
        synsets[1].LexFile.ShouldBe(29);
        synsets[1].Gloss.ShouldStartWith("undergo the biomedical");
        synsets[2].Words.ShouldBe(["abaxial", "dorsal"]);
        synsets[2].SsType.ShouldBe('s');
        synsets[2].Gloss.ShouldEndWith("away from the stem\"");
        synsets[3].Words.ShouldBe(["a cappella"], "underscores stand for spaces");
    }

    [Theory]
    [InlineData("00001740 03 n 02 entity 0 003 ~ 00001930 n 0000 ~ 00002137 n 0000 ~ 04431553 n 0000 | gloss", "'~' is not a lex_id")]
    [InlineData("00001740 03 n 01 entity 0 004 ~ 00001930 n 0000 | gloss", "ends before")]
    [InlineData("00001740 77 n 01 entity 0 000 | gloss", "'77' is not a lexicographer file number")]
    [InlineData("0000174 03 n 01 entity 0 000 | gloss", "not an 8-digit synset offset")]
    [InlineData("00001740 03 x 01 entity 0 000 | gloss", "'x' is not a synset type")]
    [InlineData("00001740 03 n 01 entity 0 000 gloss without bar", "no ' | '")]
    [InlineData("00002325 29 v 01 respire 1 000 01 - 02 00 | gloss", "frame 1 does not start with '+'")]
    public void Parse_RejectsADamagedLine_WithTheFileAndLineNumber(string line, string reason)
    {
        var e = Should.Throw<DatasetFetchException>(() => WordNetDataFiles.Parse("data.noun", Header + Noun + line + "\n"));
        e.Message.ShouldStartWith("data.noun line 4: ");
        e.Message.ShouldContain(reason);
    }

    [Fact]
    public void ParseLexNames_ReadsTheManPageTable_AndRefusesGaps()
    {
        var page = ".TS\n\\fBFile Number\\fP\t\\fBName\\fP\t\\fBContents\\fP\n_\n00\tadj.all\tall adjective clusters\n01\tadj.pert\trelational adjectives\n02\tadv.all\tall adverbs\n.TE\n";
        WordNetDataFiles.ParseLexNames(page, "lexnames.5WN").ShouldBe(["adj.all", "adj.pert", "adv.all"]);
        Should.Throw<DatasetFetchException>(() => WordNetDataFiles.ParseLexNames(page.Replace("01\tadj.pert", "05\tadj.pert"), "lexnames.5WN"))
            .Message.ShouldContain("without gaps");
    }

    [Fact]
    public async Task ReadAsync_ReadsTheDataFilesAndLexNamesOutOfADeb()
    {
        var gz = DebFixtures.Gzip(Encoding.UTF8.GetBytes(string.Join('\n', Enumerable.Range(0, 45).Select(i => $"{i:00}\tclass{i}\tdescription"))));
        var deb = DebFixtures.Build(_dir, WordNetDataFiles.Package, new Dictionary<string, byte[]>
        {
            [WordNetDataFiles.DataDir + "data.noun"] = Encoding.UTF8.GetBytes(Header + Noun),
            [WordNetDataFiles.DataDir + "data.verb"] = Encoding.UTF8.GetBytes(Header + Verb),
            [WordNetDataFiles.DataDir + "data.adj"] = Encoding.UTF8.GetBytes(Header + Adj),
            [WordNetDataFiles.DataDir + "data.adv"] = Encoding.UTF8.GetBytes(Header + Adv),
            [WordNetDataFiles.LexNamesManPage] = gz,
        });
        var fetched = new FetchedDeb(deb, WordNetDataFiles.Package, "1.0-test1", Path.GetFileName(deb), new FileInfo(deb).Length, new string('0', 64));

        var wn = await WordNetDataFiles.ReadAsync(fetched, CancellationToken.None);

        wn.LexNames.Count.ShouldBe(45);
        wn.LexNames[29].ShouldBe("class29");
        wn.All.Select(s => s.SsType).ShouldBe(['n', 'v', 's', 'r']);
    }

    /// <summary>The real <c>wordnet-base</c> (6.5 MB) fetched with apt-get into the shared test download cache.</summary>
    [Fact]
    public async Task TheRealPackage_Holds117659Synsets_In45LexicographerFiles()
    {
        var wn = await WordNetDataFiles.FetchAsync(new DebianPackageFetcher(AptFetchIntegrationTests.DownloadCache), null, CancellationToken.None);

        // WordNet 3.0's own statistics, wnstats(7WN) (a manual page of the wordnet package, not of wordnet-base):
        // 82,115 noun, 13,767 verb, 18,156 adjective and 3,621 adverb synsets, 117,659 in all.
        wn.Synsets["data.noun"].Count.ShouldBe(82_115);
        wn.Synsets["data.verb"].Count.ShouldBe(13_767);
        wn.Synsets["data.adj"].Count.ShouldBe(18_156);
        wn.Synsets["data.adv"].Count.ShouldBe(3_621);
        wn.LexNames.Count.ShouldBe(45);
        wn.LexNames[0].ShouldBe("adj.all");
        wn.LexNames[3].ShouldBe("noun.Tops");
        wn.LexNames[44].ShouldBe("adj.ppl");
        wn.All.Select(s => s.LexFile).Distinct().Count().ShouldBe(45, "every lexicographer file labels some synset");
        wn.All.ShouldAllBe(s => s.Gloss.Length > 0);
        wn.Synsets["data.noun"].Single(s => s.Offset == 1740).Words.ShouldBe(["entity"]);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
