using System.Text;
using System.Text.RegularExpressions;
using System.Xml;
using System.Xml.Linq;

namespace RnnLm.Data;

/// <summary>
/// A default English training corpus built from the IntelliSense XML documentation
/// that ships with the installed .NET SDK's reference pack
/// (<c>packs/Microsoft.NETCore.App.Ref/&lt;version&gt;/ref/net*/*.xml</c>). The text of
/// every <c>&lt;summary&gt;</c> and <c>&lt;remarks&gt;</c> is extracted (tags stripped,
/// <c>&lt;see cref&gt;</c> replaced by the last segment of the identifier,
/// <c>langword</c> and parameter references by their names, code blocks dropped,
/// whitespace collapsed), split into sentences, one per line, deduplicated, in a
/// deterministic order (files in ordinal name order, members in file order, first
/// occurrence kept).
/// </summary>
public static partial class DotnetDocsCorpus
{
    // Marks a paragraph or code-block boundary (raw XML text has its own line breaks, which are just whitespace).
    private const char Break = '\u2029';

    /// <summary>
    /// Finds the reference-pack documentation folder of the SDK next to the running runtime.
    /// Prefers the pack whose major version matches the runtime, else the newest.
    /// Returns null when no reference pack is installed.
    /// </summary>
    public static string? FindReferenceXmlDirectory()
    {
        foreach (var root in CandidateRoots())
        {
            var packs = Path.Combine(root, "packs", "Microsoft.NETCore.App.Ref");
            if (!Directory.Exists(packs)) continue;
            var versions = Directory.GetDirectories(packs)
                .Select(d => (Dir: d, Version: ParseVersion(Path.GetFileName(d))))
                .Where(v => v.Version is not null)
                .OrderByDescending(v => v.Version!.Major == Environment.Version.Major)
                .ThenByDescending(v => v.Version)
                .ThenByDescending(v => v.Dir, StringComparer.Ordinal);
            foreach (var (dir, _) in versions)
            {
                var refDir = Path.Combine(dir, "ref");
                if (!Directory.Exists(refDir)) continue;
                var tfm = Directory.GetDirectories(refDir, "net*")
                    .Where(d => Directory.EnumerateFiles(d, "*.xml").Any())
                    .OrderByDescending(d => ParseVersion(Path.GetFileName(d)[3..]) ?? new Version(0, 0))
                    .FirstOrDefault();
                if (tfm is not null) return tfm;
            }
        }
        return null;
    }

    /// <summary>Extracts the corpus as text, one sentence per line, ending with a newline.</summary>
    /// <param name="xmlDirectory">Folder of documentation XML files; null to locate the installed reference pack.</param>
    /// <exception cref="DirectoryNotFoundException">No reference pack was found.</exception>
    public static string Extract(string? xmlDirectory = null)
    {
        var sb = new StringBuilder(4 << 20);
        foreach (var line in ExtractLines(xmlDirectory)) sb.Append(line).Append('\n');
        return sb.ToString();
    }

    /// <summary>Extracts the corpus and writes it as UTF-8 (no BOM). Returns (lines, bytes).</summary>
    public static (int Lines, long Bytes) WriteTo(string path, string? xmlDirectory = null)
    {
        var lines = ExtractLines(xmlDirectory);
        using (var w = new StreamWriter(path, false, new UTF8Encoding(false)))
        {
            w.NewLine = "\n";
            foreach (var line in lines) w.WriteLine(line);
        }
        return (lines.Count, new FileInfo(path).Length);
    }

    /// <summary>Extracts the deduplicated sentences.</summary>
    public static IReadOnlyList<string> ExtractLines(string? xmlDirectory = null)
    {
        xmlDirectory ??= FindReferenceXmlDirectory()
            ?? throw new DirectoryNotFoundException("No .NET reference pack (packs/Microsoft.NETCore.App.Ref) was found next to the running runtime; install the .NET SDK or give a corpus file.");
        var files = Directory.GetFiles(xmlDirectory, "*.xml", SearchOption.TopDirectoryOnly);
        Array.Sort(files, StringComparer.Ordinal);
        // Files are parsed in parallel; merging in file order keeps the result deterministic.
        var perFile = new List<string>[files.Length];
        Parallel.For(0, files.Length, i => perFile[i] = ExtractFile(files[i]));
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var result = new List<string>();
        foreach (var sentences in perFile)
            foreach (var sentence in sentences)
                if (seen.Add(sentence)) result.Add(sentence);
        return result;
    }

    private static List<string> ExtractFile(string file)
    {
        var result = new List<string>();
        var text = new StringBuilder();
        var settings = new XmlReaderSettings { DtdProcessing = DtdProcessing.Ignore, IgnoreComments = true, IgnoreProcessingInstructions = true };
        using var reader = XmlReader.Create(file, settings);
        try
        {
            reader.MoveToContent();
            while (!reader.EOF)
            {
                if (reader.NodeType == XmlNodeType.Element && reader.Name is "summary" or "remarks")
                {
                    var element = (XElement)XNode.ReadFrom(reader);
                    text.Clear();
                    AppendText(element, text);
                    result.AddRange(Sentences(text.ToString()));
                }
                else reader.Read();
            }
        }
        catch (XmlException)
        {
            // A malformed documentation file contributes what was read before the error.
        }
        return result;
    }

    private static void AppendText(XElement element, StringBuilder sb)
    {
        foreach (var node in element.Nodes())
        {
            switch (node)
            {
                case XText t:
                    sb.Append(t.Value);
                    break;
                case XElement e:
                    switch (e.Name.LocalName)
                    {
                        case "code":
                            sb.Append(Break);
                            break;
                        case "see" or "seealso" or "xref":
                            if (!e.IsEmpty && e.Value.Trim().Length > 0) AppendText(e, sb);
                            else if (e.Attribute("langword") is { } lw) sb.Append(lw.Value);
                            else if (e.Attribute("cref") is { } cref) sb.Append(LastSegment(cref.Value));
                            else if (e.Attribute("uid") is { } uid) sb.Append(LastSegment(uid.Value));
                            else if (e.Attribute("href") is { } href) sb.Append(href.Value);
                            break;
                        case "paramref" or "typeparamref":
                            sb.Append(e.Attribute("name")?.Value);
                            break;
                        case "para" or "p" or "br" or "list" or "listheader" or "item" or "term" or "description" or "li" or "ul" or "ol":
                            sb.Append(Break);
                            AppendText(e, sb);
                            sb.Append(Break);
                            break;
                        default:
                            AppendText(e, sb);
                            break;
                    }
                    break;
            }
        }
    }

    /// <summary>"M:System.String.Format(System.String)" → "Format"; "T:System.Collections.Generic.List`1" → "List".</summary>
    internal static string LastSegment(string cref)
    {
        var s = cref.AsSpan();
        if (s.Length > 2 && s[1] == ':') s = s[2..];
        int paren = s.IndexOf('(');
        if (paren >= 0) s = s[..paren];
        var segments = s.ToString().Split('.', StringSplitOptions.RemoveEmptyEntries);
        if (segments.Length == 0) return cref;
        string last = segments[^1];
        if (last is "#ctor" or "#cctor") last = segments.Length > 1 ? segments[^2] : last;
        int tick = last.IndexOf('`');
        if (tick >= 0) last = last[..tick];
        return last.Replace("#", "");
    }

    private static IEnumerable<string> Sentences(string text)
    {
        foreach (var block in text.Split(Break))
        {
            string collapsed = Whitespace().Replace(block, " ").Trim();
            if (collapsed.Length == 0) continue;
            foreach (var raw in SentenceBreak().Split(collapsed))
            {
                string s = raw.Trim();
                if (s.Length < 8 || s.Contains('<') || s.Contains('>')) continue;
                if (!s.Contains(' ') || !s.Any(char.IsLetter) || InstructionForm().IsMatch(s)) continue;
                yield return s;
            }
        }
    }

    private static IEnumerable<string> CandidateRoots()
    {
        var runtimeDir = Path.GetDirectoryName(typeof(object).Assembly.Location);
        if (!string.IsNullOrEmpty(runtimeDir))
        {
            // <root>/shared/Microsoft.NETCore.App/<version>/System.Private.CoreLib.dll
            var root = Directory.GetParent(runtimeDir)?.Parent?.Parent;
            if (root is not null) yield return root.FullName;
        }
        var env = Environment.GetEnvironmentVariable("DOTNET_ROOT");
        if (!string.IsNullOrEmpty(env)) yield return env;
    }

    private static Version? ParseVersion(string name)
    {
        int dash = name.IndexOf('-');
        if (dash >= 0) name = name[..dash];
        return Version.TryParse(name, out var v) ? v : null;
    }

    // Hardware-intrinsic summaries such as "A64: LD1 { Vt.16B }, [Xn]" or "__m128 _mm_add_ps (__m128 a, __m128 b)".
    [GeneratedRegex(@"^(A32|A64|x86|x64|VEX|EVEX|SVE|SSE\d*|AVX\S*|MOV\S*)\b|\b(A32|A64): |__m\d|_mm\d*_|\b\w+_t\b|\bsv\w+_\w+\(|\b[xyz]mm\d|__mmask|(^| )_\w+ ?\(|^[A-Z][A-Z0-9]{2,} [a-z]+\d")]
    private static partial Regex InstructionForm();

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();

    [GeneratedRegex(@"(?<=[.!?])\s+(?=[A-Z0-9""'(])")]
    private static partial Regex SentenceBreak();
}
