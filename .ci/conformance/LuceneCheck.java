// Builds each regex the way Elasticsearch builds the automaton of EQL's
// `regex` and ES|QL's `RLIKE` (the QL and ES|QL `RLikePattern`):
// `Operations.determinize(new RegExp(p, RegExp.ALL, flags).toAutomaton(),
// Operations.DEFAULT_DETERMINIZE_WORK_LIMIT)`, with ASCII case folding for
// EQL's `regex~`.
//
// Input: a file of lines `label<TAB>fold<TAB>hex`, where `hex` is the
// regex's UTF-8 bytes in hexadecimal (a regex may hold tabs and line
// breaks) and `fold` is 1 for `regex~`. Output: one line per regex that
// Lucene refuses, `FAIL<TAB>label<TAB>reason`, then a summary line. Exit
// status 0 when every regex is built, 1 otherwise.

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.List;
import org.apache.lucene.util.Version;
import org.apache.lucene.util.automaton.Operations;
import org.apache.lucene.util.automaton.RegExp;
import org.apache.lucene.util.automaton.TooComplexToDeterminizeException;

public class LuceneCheck {
    public static void main(String[] args) throws Exception {
        List<String> lines = Files.readAllLines(Paths.get(args[0]), StandardCharsets.UTF_8);
        int failed = 0;
        int checked = 0;
        for (String line : lines) {
            if (line.isEmpty()) {
                continue;
            }
            String[] fields = line.split("\t", 3);
            String label = fields[0];
            int flags = fields[1].equals("1") ? RegExp.ASCII_CASE_INSENSITIVE : 0;
            String hex = fields[2];
            byte[] bytes = new byte[hex.length() / 2];
            for (int i = 0; i < bytes.length; i++) {
                bytes[i] = (byte) Integer.parseInt(hex.substring(2 * i, 2 * i + 2), 16);
            }
            String regex = new String(bytes, StandardCharsets.UTF_8);
            checked++;
            try {
                Operations.determinize(
                        new RegExp(regex, RegExp.ALL, flags).toAutomaton(),
                        Operations.DEFAULT_DETERMINIZE_WORK_LIMIT);
            } catch (TooComplexToDeterminizeException | IllegalArgumentException error) {
                failed++;
                String reason = error.getMessage() == null ? error.toString() : error.getMessage();
                System.out.println("FAIL\t" + label + "\t" + reason.replace('\n', ' '));
            }
        }
        System.out.println(
                "lucene " + Version.LATEST + ": " + checked + " regexes, " + failed + " refused");
        System.exit(failed == 0 ? 0 : 1);
    }
}
